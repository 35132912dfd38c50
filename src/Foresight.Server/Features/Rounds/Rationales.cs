using System.Security.Cryptography;
using System.Text;
using Foresight.Core.Surveys;

namespace Foresight.Server.Features.Rounds;

/// <summary>What of a round's answers is shown to others as their reasons: the feedback, the argument clusters and the reports use the same rule.</summary>
public static class Rationales
{
    /// <summary>The text of an answer that others may read: a text question's answer when the survey shows it in feedback, otherwise the rationale.</summary>
    public static string? ShownText(Question? q, StoredAnswer a) => q?.Kind == QuestionKind.Text ? (q.ShowInFeedback ? a.Value : null) : a.Rationale;

    /// <summary>Rationales without names, in an order that says nothing about who wrote them or when.</summary>
    public static IReadOnlyList<string> Anonymous(IEnumerable<string?> texts) =>
        texts.Where(t => !string.IsNullOrWhiteSpace(t)).Select(t => t!)
            .OrderBy(t => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(t))), StringComparer.Ordinal).ToList();
}
