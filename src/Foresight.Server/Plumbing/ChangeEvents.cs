using System.Collections.Concurrent;
using System.Collections.Immutable;

namespace Foresight.Server.Plumbing;

/// <summary>
/// Committed changes that other parts of the server depend on, published once after the commit that made them.
/// Caches and open connections subscribe instead of being cleared by hand where the change is made. A subscriber that
/// fails is logged and the others still hear the change.
/// </summary>
public sealed class ChangeEvents(ILogger<ChangeEvents> log)
{
    readonly ConcurrentDictionary<Type, ImmutableArray<Action<object>>> _handlers = new();

    public void Subscribe<T>(Action<T> handler) where T : notnull =>
        _handlers.AddOrUpdate(typeof(T), _ => [o => handler((T)o)], (_, list) => list.Add(o => handler((T)o)));

    /// <summary>Tells every subscriber of the change's type; call it after the change is committed.</summary>
    public void Publish<T>(T change) where T : notnull
    {
        if (!_handlers.TryGetValue(typeof(T), out var handlers)) return;
        foreach (var handler in handlers)
        {
            try { handler(change); }
            catch (Exception e) { log.LogError(e, "A subscriber failed to follow {Change}", change); }
        }
    }
}

/// <summary>A panel member's invitation link was renewed or revoked: sessions and connections made with the old one end.</summary>
public sealed record MemberAccessEnded(long MemberId);

/// <summary>An account was disabled (<paramref name="SurveyId"/> null), or lost its coordinator or stakeholder access to a survey.</summary>
public sealed record UserAccessEnded(long UserId, long? SurveyId);

/// <summary>An API token was signed out: requests and connections made with it end.</summary>
public sealed record TokenAccessEnded(string TokenHash);

// Changes to a survey's data, for caches, the live state, the round lifecycle, mail and reports. Each names its
// survey; subscribers read what they need from the database, which is the truth.

/// <summary>An expert's answers to one topic after a save (committed): question id → answer; an empty map clears the topic.</summary>
public sealed record AnswerSaved(long SurveyId, long RoundId, long MemberId, string Pseudonym, string Topic,
    IReadOnlyDictionary<string, Foresight.Core.Answers.QuestionAnswer> Answers);

/// <summary>An expert's ranks after a ranking save (committed): topic → rank, null where a rank was taken away.</summary>
public sealed record RankingSaved(long SurveyId, long RoundId, long MemberId, string Pseudonym, string Ranking, IReadOnlyDictionary<string, double?> Ranks);

/// <summary>A round was opened.</summary>
public sealed record RoundOpened(long SurveyId, long RoundId, int Number);

/// <summary>A round was closed (by a coordinator or at its deadline).</summary>
public sealed record RoundClosed(long SurveyId, long RoundId, int Number);

/// <summary>An open round's deadline was set, moved or removed.</summary>
public sealed record DeadlineChanged(long SurveyId, long RoundId, int Number);

/// <summary>Topics were added, reworded, merged, split, removed, or a carry/retire decision was made.</summary>
public sealed record TopicsChanged(long SurveyId);

/// <summary>A survey's panel changed: members added, fields changed, links renewed or revoked.</summary>
public sealed record PanelChanged(long SurveyId, IReadOnlyList<long> Members);

/// <summary>A survey's definition, rules or status changed, or the survey was deleted.</summary>
public sealed record SurveyChanged(long SurveyId, string Slug, bool Deleted = false);
