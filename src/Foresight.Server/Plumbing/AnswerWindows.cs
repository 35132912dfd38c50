using Foresight.Core.Answers;

namespace Foresight.Server.Plumbing;

/// <summary>
/// Whether an expert's answers (and messages) are taken now. The questionnaire decides it; features that only need
/// the answer (topic messages) ask through this, so they do not depend on the questionnaire.
/// </summary>
public interface IAnswerWindows
{
    /// <summary>Read from the database: the survey's current round, the member's place on its panel, the server's clock.</summary>
    Task<AnswerWindow> ForMemberAsync(long surveyId, long memberId);
}
