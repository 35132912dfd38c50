using Dapper;
using Foresight.Core.Answers;
using Foresight.Server.Plumbing;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;

namespace Foresight.Server.Tests;

/// <summary>
/// Issue 23: the live state of an open round follows the committed change events; a change it cannot apply makes it
/// read the round again from the database (the truth) instead of drifting from it.
/// </summary>
public sealed class LiveRebuildTests : IDisposable
{
    readonly ForesightFactory _app = new();
    public void Dispose() => _app.Dispose();

    static int Respondents(System.Text.Json.Nodes.JsonNode consensus, string topic) =>
        consensus["topics"]!.AsArray().Single(t => t!["code"]!.GetValue<string>() == topic)!["respondents"]!.GetValue<int>();

    [Fact]
    public async Task A_change_the_live_state_cannot_apply_makes_it_read_the_round_again_from_the_database()
    {
        var study = await QuickStudy.CreateAsync(_app, experts: 3);
        const string S = QuickStudy.S;
        for (int e = 0; e < 3; e++) await study.AnswerAsync(e, "Q-T01", QuickStudy.Answer(4 + e));
        // The open round's consensus is served from the live state, which has the three answers.
        Assert.Equal(3, Respondents(await study.Coordinator.GetOkAsync($"{S}/rounds/1/consensus"), "Q-T01"));

        // The database changes behind the live state's back (as an operator's repair would): one answer is gone.
        await using (var c = new SqliteConnection($"Data Source={_app.DatabasePath}"))
            await c.ExecuteAsync("DELETE FROM topic_answers WHERE member_id = @member", new { member = study.Members[2] });
        Assert.Equal(3, Respondents(await study.Coordinator.GetOkAsync($"{S}/rounds/1/consensus"), "Q-T01"));

        // A change event the live state cannot apply (an answer without a value).
        (long Id, long SurveyId) round;
        await using (var c = new SqliteConnection($"Data Source={_app.DatabasePath}"))
            round = await c.QuerySingleAsync<(long, long)>("SELECT id, survey_id FROM rounds");
        var unusable = new AnswerSaved(round.SurveyId, round.Id, study.Members[0], study.Pseudonyms[0], "Q-T01",
            new Dictionary<string, QuestionAnswer> { ["importance"] = new(null!, null) });
        await _app.Services.GetRequiredService<ChangeEvents>().PublishAsync(unusable);
        Assert.Contains(_app.Logged, l => l.Message.Contains("read again from the database"));

        // It read the round again: what it serves is what the database holds.
        Assert.Equal(2, Respondents(await study.Coordinator.GetOkAsync($"{S}/rounds/1/consensus"), "Q-T01"));
        await study.AnswerAsync(2, "Q-T01", QuickStudy.Answer(6));
        Assert.Equal(3, Respondents(await study.Coordinator.GetOkAsync($"{S}/rounds/1/consensus"), "Q-T01"));
    }
}
