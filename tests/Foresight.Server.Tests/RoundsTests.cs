using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;

namespace Foresight.Server.Tests;

public sealed class RoundsTests : IDisposable
{
    readonly ForesightFactory _app = new();
    public void Dispose() => _app.Dispose();

    [Fact]
    public async Task Rounds_open_and_close_in_order_within_the_rules_maximum()
    {
        var study = await QuickStudy.CreateAsync(_app, experts: 5, open: false);
        await Api.OkAsync(await study.Coordinator.PutYamlAsync($"{QuickStudy.S}/rules",
            "questions:\n  importance: {iqr_max: 1, agree_min_pct: 70}\nstop: {max_rounds: 2}\n"));
        await Api.ProblemAsync(await study.Coordinator.PostAsync($"{QuickStudy.S}/rounds/1/close", null), HttpStatusCode.NotFound);
        await study.OpenAsync();
        var twice = await Api.ProblemAsync(await study.Coordinator.PostAsJsonAsync($"{QuickStudy.S}/rounds", new { }), HttpStatusCode.Conflict);
        Assert.Contains("Round 1 is still open", twice["detail"]!.GetValue<string>());
        var topicEdit = await Api.ProblemAsync(await study.Coordinator.PatchAsJsonAsync($"{QuickStudy.S}/topics/Q-T01",
            new { title = new { zh = "新", en = "New" } }), HttpStatusCode.Conflict);
        Assert.Contains("only between rounds", topicEdit["detail"]!.GetValue<string>());

        // Q-T01 reaches consensus (all 7), the others do not (2..7 spread).
        for (int e = 0; e < 5; e++)
            foreach (var t in QuickStudy.Topics)
                await study.AnswerAsync(e, t, QuickStudy.Answer(t == "Q-T01" ? 7 : 2 + e));
        var closed = await study.CloseAsync(1);
        Assert.Equal("retire", closed["topics"]!.AsArray().Single(t => t!["code"]!.GetValue<string>() == "Q-T01")!["decision"]!.GetValue<string>());
        await Api.ProblemAsync(await study.Coordinator.PostAsync($"{QuickStudy.S}/rounds/1/close", null), HttpStatusCode.Conflict);

        // The coordinator overrides the stop rule both ways before round 2.
        var carried = await study.Coordinator.PutOkAsync($"{QuickStudy.S}/rounds/1/topics/Q-T01/decision",
            new { decision = "carry", note = "Committee wants a second look." });
        Assert.Equal("carry", carried["decision"]!.GetValue<string>());
        Assert.Equal("retire", carried["proposed"]!.GetValue<string>());
        await study.Coordinator.PutOkAsync($"{QuickStudy.S}/rounds/1/topics/A-T03/decision", new { decision = "retire" });
        await Api.ProblemAsync(await study.Coordinator.PutAsJsonAsync($"{QuickStudy.S}/rounds/1/topics/A-T03/decision", new { decision = "maybe" }),
            HttpStatusCode.BadRequest);

        var round2 = await study.OpenAsync();
        Assert.Equal(5, round2["topics"]!.GetValue<int>());
        var q = await study.Experts[0].GetOkAsync($"{QuickStudy.S}/questionnaire");
        var codes = q["fields"]!.AsArray().SelectMany(f => f!["topics"]!.AsArray()).Select(t => t!["code"]!.GetValue<string>()).ToList();
        Assert.Contains("Q-T01", codes);
        Assert.DoesNotContain("A-T03", codes);
        await Api.ProblemAsync(await study.Coordinator.PutAsJsonAsync($"{QuickStudy.S}/rounds/1/topics/A-T03/decision", new { decision = "carry" }),
            HttpStatusCode.Conflict);

        // Two experts drop out in round 2.
        for (int e = 0; e < 3; e++)
            foreach (var t in codes) await study.AnswerAsync(e, t, QuickStudy.Answer(7, rationale: "moved"));
        var closed2 = await study.CloseAsync(2);
        Assert.True(closed2["stop_recommended"]!.GetValue<bool>());
        Assert.Contains("last one the rules allow", closed2["stop_reason"]!.GetValue<string>());
        var r2 = await study.Coordinator.GetOkAsync($"{QuickStudy.S}/rounds/2");
        Assert.Equal(3, r2["participation"]!["responded"]!.GetValue<int>());
        Assert.Equal(2, r2["participation"]!["dropped_out"]!.GetValue<int>());
        Assert.Equal(40.0, r2["participation"]!["drop_out_rate"]!.GetValue<double>());
        var third = await Api.ProblemAsync(await study.Coordinator.PostAsJsonAsync($"{QuickStudy.S}/rounds", new { }), HttpStatusCode.Conflict);
        Assert.Contains("at most 2 rounds", third["detail"]!.GetValue<string>());

        var audit = (await (await _app.AdminAsync()).GetOkAsync("/api/audit?survey=quick-start")).AsArray().Select(a => a!["action"]!.GetValue<string>())
            .ToList();
        Assert.Contains("round.opened", audit);
        Assert.Contains("round.closed", audit);
        Assert.Contains("topic.decision", audit);
    }

    [Fact]
    public async Task Feedback_can_be_split_by_stakeholder_group_with_small_groups_hidden()
    {
        // Quick-start splits feedback by org_type with groups of at least 5: 6 university experts, 3 from enterprises.
        var study = await QuickStudy.CreateAsync(_app, experts: 9, orgTypes: ["UNI", "UNI", "ENT"]);
        for (int e = 0; e < 9; e++) await study.AnswerAsync(e, "A-T01", QuickStudy.Answer(e % 3 == 2 ? 3 : 6));
        await study.CloseAsync(1);
        await study.OpenAsync();
        var sheet = await study.Experts[0].GetOkAsync($"{QuickStudy.S}/questionnaire/topics/A-T01");
        var importance = sheet["feedback"]!["sources"]![0]!["questions"]!.AsArray().Single(q => q!["question"]!.GetValue<string>() == "importance")!;
        var groups = importance["groups"]!.AsArray();
        Assert.Equal("UNI", groups.Single()!["group"]!.GetValue<string>());
        Assert.Equal(6, groups.Single()!["n"]!.GetValue<int>());
        Assert.Equal(6.0, groups.Single()!["median"]!.GetValue<double>());
        Assert.Equal(1, importance["groups_suppressed"]!.GetValue<int>());
        Assert.Equal(9, importance["n"]!.GetValue<int>());
        Assert.Equal(7, importance["distribution"]!.AsArray().Count); // every point of the 1-7 scale
    }
}

/// <summary>The open round's consensus comes from the kept live state (issue 9); it must equal the store's.</summary>
public sealed class KeptConsensusTests : IDisposable
{
    readonly ForesightFactory _app = new();
    public void Dispose() => _app.Dispose();

    async Task SameAsStoreAsync(int number, string when)
    {
        var services = _app.Services;
        await using var c = await services.GetRequiredService<Foresight.Server.Plumbing.Db>().OpenAsync();
        var surveyId = await Dapper.SqlMapper.ExecuteScalarAsync<long>(c, "SELECT id FROM surveys WHERE slug = 'quick-start'");
        var round = await Foresight.Server.Features.Rounds.RoundStore.OpenRoundAsync(c, surveyId);
        Assert.Equal(number, round!.Number);
        var kept = await services.GetRequiredService<Foresight.Server.Features.Live.LivePublisher>().ConsensusAsync(surveyId, number);
        Assert.NotNull(kept); // an open round is kept from the start
        var stored = await services.GetRequiredService<Foresight.Server.Features.Rounds.ConsensusService>().ComputeAsync(c, round);
        var json = Foresight.Server.Plumbing.Json.Stored;
        Assert.True(System.Text.Json.JsonSerializer.Serialize(stored, json) == System.Text.Json.JsonSerializer.Serialize(kept,
            json), $"{when}: the kept consensus differs from the store's");
    }

    [Fact]
    public async Task The_open_rounds_consensus_from_the_kept_state_equals_the_one_computed_from_the_store()
    {
        var study = await QuickStudy.CreateAsync(_app, experts: 6);
        await SameAsStoreAsync(1, "before any answer");
        for (int e = 0; e < 6; e++)
            foreach (var t in QuickStudy.Topics)
                await study.AnswerAsync(e, t, QuickStudy.Answer(2 + (e + t.Length) % 6, 2030 + e, rationale: $"reason {e}"));
        await study.Experts[0].PutOkAsync($"{QuickStudy.S}/questionnaire/rankings/priority", new { order = QuickStudy.Topics });
        await study.Experts[1].PutOkAsync($"{QuickStudy.S}/questionnaire/rankings/priority", new { order = QuickStudy.Topics.Reverse() });
        await SameAsStoreAsync(1, "after first answers and rankings");
        // Revisions, a ranking that drops topics, and a new deadline (taken in place, not by reading the round again).
        await study.AnswerAsync(2, "Q-T01", QuickStudy.Answer(7, 2040));
        await study.Experts[1].PutOkAsync($"{QuickStudy.S}/questionnaire/rankings/priority", new { order = QuickStudy.Topics.Take(2) });
        await study.Coordinator.PutOkAsync($"{QuickStudy.S}/rounds/1/deadline", new { deadline = DateTimeOffset.UtcNow.AddDays(3) });
        var overview = await study.Coordinator.GetOkAsync($"{QuickStudy.S}/rounds/1/consensus");
        Assert.Equal(6, overview["topics"]!.AsArray().Single(t => t!["code"]!.GetValue<string>() == "Q-T01")!["respondents"]!.GetValue<int>());
        await SameAsStoreAsync(1, "after revisions and a new deadline");
        await study.CloseAsync(1);

        // Round 2 compares with round 1 (stability) from the kept previous answers.
        await study.OpenAsync();
        await SameAsStoreAsync(2, "round 2 before any answer");
        for (int e = 0; e < 4; e++)
            foreach (var t in QuickStudy.Topics.Skip(1))
                await study.AnswerAsync(e, t, QuickStudy.Answer(3 + e % 3, 2032 + e, rationale: $"second look {e}"));
        await SameAsStoreAsync(2, "round 2 after answers");
    }
}
