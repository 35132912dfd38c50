using System.Net;
using System.Net.Http.Json;
using Dapper;
using Foresight.Server.Features.Rounds;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;

namespace Foresight.Server.Tests;

/// <summary>
/// Issue 23: a round closes in two short write transactions. Between them the round takes no answers, its consensus
/// is computed outside the write gate (so other writes go on), it shows as "closing", and what needs its stored
/// consensus waits; a close that a stopped server left between the steps is finished when the next server starts.
/// </summary>
public sealed class RoundCloseStepsTests
{
    const string S = QuickStudy.S;

    sealed class Gate
    {
        public readonly TaskCompletionSource<long> Reached = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public readonly TaskCompletionSource Release = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public bool Fail { get; init; }

        public async Task Hook(long roundId)
        {
            Reached.TrySetResult(roundId);
            await Release.Task;
            if (Fail) throw new InvalidOperationException("the server stops between the close's two steps (test)");
        }
    }

    /// <summary>Each topic's results (without the proposed fate, which the close adds).</summary>
    static string Results(System.Text.Json.Nodes.JsonNode consensus) =>
        string.Join("\n", consensus["topics"]!.AsArray().Select(t => $"{t!["code"]} {t["state"]} {t["respondents"]} {t["questions"]!.ToJsonString()}"));

    static async Task AnswerAllAsync(QuickStudy study)
    {
        for (int e = 0; e < study.Experts.Count; e++)
            foreach (var topic in QuickStudy.Topics) await study.AnswerAsync(e, topic, QuickStudy.Answer(5 + e % 3));
    }

    [Fact]
    public async Task Between_the_two_steps_the_round_takes_no_answers_shows_closing_and_other_writes_go_on()
    {
        var gate = new Gate();
        using var app = new ForesightFactory().WithServices(s => s.AddSingleton(new RoundService.CloseHooks { BetweenCloseSteps = gate.Hook }));
        var study = await QuickStudy.CreateAsync(app, experts: 3);
        await AnswerAllAsync(study);
        var live = await study.Coordinator.GetOkAsync($"{S}/rounds/1/consensus");

        var close = study.Coordinator.PostAsync($"{S}/rounds/1/close", null);
        await gate.Reached.Task.WaitAsync(TimeSpan.FromMinutes(2));

        // The round is closed to answers: the writer, which needs the write gate, answers at once (the gate is free).
        var late = await study.Experts[0].PutAsJsonAsync($"{S}/questionnaire/topics/Q-T01", QuickStudy.Answer(1));
        Assert.Equal(HttpStatusCode.Conflict, late.StatusCode);
        // Other writes go on: a coordinator's change of the survey's pool.
        var added = await study.Coordinator.PostAsJsonAsync("/api/experts", new { name = "Written meanwhile", email = "meanwhile@test.local" });
        Assert.Equal(HttpStatusCode.Created, added.StatusCode);
        // Shown as closing, with the consensus computed from its (now fixed) answers, the same as while it was open.
        Assert.Equal("closing", (await study.Coordinator.GetOkAsync($"{S}/rounds/1"))["status"]!.GetValue<string>());
        var during = await study.Coordinator.GetOkAsync($"{S}/rounds/1/consensus");
        Assert.Equal("closing", during["status"]!.GetValue<string>());
        Assert.Equal(Results(live), Results(during));
        // What needs the stored consensus waits for it.
        var next = await Api.ProblemAsync(await study.Coordinator.PostAsJsonAsync($"{S}/rounds", new { }), HttpStatusCode.Conflict);
        Assert.Contains("closing", next["detail"]!.GetValue<string>());
        await Api.ProblemAsync(await study.Coordinator.PutAsJsonAsync($"{S}/rounds/1/topics/Q-T01/decision", new { decision = "carry" }),
            HttpStatusCode.Conflict);

        gate.Release.SetResult();
        var closed = await Api.OkAsync(await close);
        Assert.Equal("closed", closed["status"]!.GetValue<string>());
        var round = await study.Coordinator.GetOkAsync($"{S}/rounds/1");
        Assert.Equal("closed", round["status"]!.GetValue<string>());
        Assert.NotNull(round["data_hash"]);
        await using var c = new SqliteConnection($"Data Source={app.DatabasePath}");
        Assert.Equal(6, await c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM consensus"));
        Assert.Equal(1, await c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM audit_log WHERE action = 'round.closed'"));
        // The answer refused during the close changed nothing.
        var stored = await study.Coordinator.GetOkAsync($"{S}/rounds/1/consensus");
        Assert.Equal(Results(live), Results(stored));
        // And the next round opens.
        Assert.Equal(2, (await study.OpenAsync())["number"]!.GetValue<int>());
    }

    [Fact]
    public async Task A_close_interrupted_between_its_steps_is_finished_when_the_server_starts_again()
    {
        var gate = new Gate { Fail = true };
        gate.Release.SetResult();
        var second = new ForesightFactory();
        try
        {
            string expectedTopics;
            using (var first = new ForesightFactory().With("Foresight:Database", second.DatabasePath)
                       .WithServices(s => s.AddSingleton(new RoundService.CloseHooks { BetweenCloseSteps = gate.Hook })))
            {
                var study = await QuickStudy.CreateAsync(first, experts: 3);
                await AnswerAllAsync(study);
                expectedTopics = Results(await study.Coordinator.GetOkAsync($"{S}/rounds/1/consensus"));
                var failed = await study.Coordinator.PostAsync($"{S}/rounds/1/close", null);
                Assert.Equal(HttpStatusCode.InternalServerError, failed.StatusCode);
                Assert.Equal("closing", (await study.Coordinator.GetOkAsync($"{S}/rounds/1"))["status"]!.GetValue<string>());
            }

            // The next server on the same database finishes the close before it serves anyone.
            var coordinator = await second.SignInAsync("coordinator@test.local", "coordinator-password");
            var round = await coordinator.GetOkAsync($"{S}/rounds/1");
            Assert.Equal("closed", round["status"]!.GetValue<string>());
            Assert.NotNull(round["data_hash"]);
            Assert.Equal(expectedTopics, Results(await coordinator.GetOkAsync($"{S}/rounds/1/consensus")));
            Assert.Contains(second.Logged, l => l.Message.Contains("consensus was not stored"));
            // Its reports are queued as after any close.
            await Wait.UntilAsync(async () => (await coordinator.GetOkAsync($"{S}/reports")).AsArray().Count > 0, "the round's reports to be queued");
        }
        finally { second.Dispose(); }
    }
}
