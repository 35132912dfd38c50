using Foresight.Core;
using Foresight.Core.Consensus;
using Foresight.Core.Statistics;
using Foresight.Core.Surveys;

namespace Foresight.Server.Features.Live;

/// <summary>One question's live aggregate: the same figures as the round's consensus, without anything about an expert.</summary>
public sealed record LiveQuestion(
    string Question, int N, int Answered, double? Median, double? Q1, double? Q3, double? Iqr, double? PctAgree, double? ImportanceIndex,
    IReadOnlyList<ValueCount> Distribution, IReadOnlyList<OptionCount> Counts, string? State);

public sealed record LiveTopic(string Topic, string Field, int Respondents, int NotFamiliar, string State, bool Polarized,
    IReadOnlyList<LiveQuestion> Questions)
{
    public static LiveTopic From(TopicResult r) => new(r.Topic, r.Field, r.Respondents, r.NotFamiliar, r.State, r.Polarized,
        r.Questions.Where(q => q.Kind != QuestionKind.Text).Select(q => new LiveQuestion(q.Question, q.Summary?.N ?? q.Answered, q.Answered,
            q.Summary?.Median, q.Summary?.Q1, q.Summary?.Q3, q.Summary?.Iqr, q.Summary?.PctAgree, q.Summary?.ImportanceIndex,
            // One distribution: per option when the question has options, else per value (rating, free year).
            q.Counts.Count > 0 ? [] : q.Summary?.Distribution ?? [], q.Counts, q.State)).ToList());
}

public sealed record FieldLive(string Field, int Experts, int Responded, int Finished, int TopicAnswers, int TopicAnswersExpected);

/// <param name="AnswersReceived">expert-topic pairs with at least one answer</param>
/// <param name="Submissions">answer saves applied since this server started watching the round (always grows)</param>
public sealed record LiveProgress(int AnswersReceived, long Submissions, int ExpertsInvited, int ExpertsResponded, int ExpertsFinished,
    IReadOnlyList<FieldLive> Fields);

public sealed record LiveRoundInfo(int Number, RoundStatus Status, string? Deadline);

/// <summary>What a client gets when it joins: the current state and the sequence number of each stream it is in.</summary>
/// <param name="Role">coordinator, stakeholder or expert</param>
public sealed record LiveSnapshot(
    string Survey, string Role, LiveRoundInfo? Round, IReadOnlyDictionary<string, long> Streams,
    LiveProgress? Progress, IReadOnlyList<LiveTopic> Topics, int MinAnswers);

/// <summary>A change: the topics that changed since the stream's last message (latest state), and the progress.</summary>
public sealed record LiveUpdate(string Stream, long Seq, int Round, LiveProgress? Progress, IReadOnlyList<LiveTopic> Topics);

/// <param name="Event">opened, closed or deadline_changed</param>
public sealed record LiveRoundEvent(string Stream, long Seq, string Event, LiveRoundInfo Round);

public sealed record LiveReportReady(string Stream, long Seq, int Round, string Language, string Url);
