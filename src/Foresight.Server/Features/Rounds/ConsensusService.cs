using System.Text.Json;
using Foresight.Core.Consensus;
using Foresight.Server.Features.Surveys;
using Foresight.Server.Plumbing;
using Microsoft.Data.Sqlite;

namespace Foresight.Server.Features.Rounds;

/// <summary>
/// Consensus of a round from the stored answers, through the Core statistics (the one implementation used by
/// the API, the CLI and reports). A closed round answers from the snapshot stored when it closed.
/// </summary>
public sealed class ConsensusService(SurveyCatalog catalog, IOpenRoundConsensus live)
{
    /// <param name="answers">the round's answers when the caller has read them already</param>
    public async Task<RoundResult> ComputeAsync(SqliteConnection c, RoundRow round, SqliteTransaction? tx = null, IReadOnlyList<AnswerRow>? answers = null)
    {
        var survey = await catalog.DefinitionAsync(round.SurveyId);
        var rules = await catalog.RulesAsync(round.SurveyId, round.RulesVersion);
        var topics = await RoundStore.TopicsAsync(c, round.Id, tx);
        var withPrevious = await RoundStore.WithPredecessorsAsync(c, round, topics, tx);
        answers ??= (await RoundStore.AnswersAsync(c, round.Id, tx)).Select(a => a.Row).ToList();
        List<AnswerRow>? previous = null;
        if (round.Number > 1 && await RoundStore.RoundAsync(c, round.SurveyId, round.Number - 1, tx) is { } before)
            previous = (await RoundStore.AnswersAsync(c, before.Id, tx)).Select(a => a.Row).ToList();
        return RoundConsensus.Compute(survey, rules, round.Number, withPrevious, answers, previous);
    }

    /// <summary>The round's result: stored for a closed round, computed now for an open or closing one.</summary>
    public async Task<RoundResult> GetAsync(SqliteConnection c, RoundRow round)
    {
        // An open round's topics are kept computed as answers arrive; the store is the fallback.
        if (round.IsOpen) return await live.ConsensusAsync(round.SurveyId, round.Number) ?? await ComputeAsync(c, round);
        // Closing: its answers are fixed and its result not stored yet; computed now, it is what the close stores.
        if (round.IsClosing) return await ComputeAsync(c, round);
        var snapshot = await RoundStore.SnapshotAsync(c, round.Id);
        var topics = await RoundStore.TopicsAsync(c, round.Id);
        var rankings = round.Rankings is null ? [] : JsonSerializer.Deserialize<List<RankingResult>>(round.Rankings, Json.Stored)!;
        return new RoundResult(round.Number, topics.Where(t => snapshot.ContainsKey(t.Code)).Select(t => snapshot[t.Code]).ToList(),
            rankings, round.SettledPct ?? 0, round.Stop == 1, round.StopReason ?? "");
    }
}

/// <summary>
/// The consensus of a survey's open round as kept up to date while answers arrive (the live state), so that asking for
/// it does not read every stored answer again; null when it is not kept, and the store is read instead.
/// </summary>
public interface IOpenRoundConsensus
{
    Task<RoundResult?> ConsensusAsync(long surveyId, int number);
}
