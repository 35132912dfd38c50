using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR;

namespace Foresight.Server.Tests;

/// <summary>Live consensus over SignalR against the in-memory test server (WebSockets and long polling).</summary>
public sealed class LiveTests : IDisposable
{
    readonly ForesightFactory _app = new ForesightFactory().With("Foresight:Live:MaxUpdatesPerSecond", "4");
    public void Dispose() => _app.Dispose();

    static string RealTimeSurvey(string stakeholders = "progress") => Api.Survey("quick-start.yaml")
        .Replace("feedback:\n  by_group: org_type", $"live:\n  real_time: true\n  min_answers: 3\n  stakeholders: {stakeholders}\n\nfeedback:\n  by_group: org_type");

    static async Task<string> TokenAsync(HttpClient client) =>
        client.DefaultRequestHeaders.Authorization!.Parameter!;

    /// <summary>Compares the live figures of every question with the consensus computed from the stored answers.</summary>
    static void SameAsStored(JsonNode stored, IReadOnlyDictionary<string, JsonNode> live)
    {
        foreach (var topic in stored["topics"]!.AsArray())
        {
            var code = topic!["code"]!.GetValue<string>();
            Assert.True(live.ContainsKey(code), $"no live state for {code}");
            var l = live[code];
            Assert.Equal(topic["respondents"]!.GetValue<int>(), l["respondents"]!.GetValue<int>());
            Assert.Equal(topic["state"]!.GetValue<string>(), l["state"]!.GetValue<string>());
            foreach (var q in topic["questions"]!.AsArray().Where(q => q!["summary"] is JsonObject))
            {
                var lq = l["questions"]!.AsArray().Single(x => x!["question"]!.GetValue<string>() == q!["question"]!.GetValue<string>())!;
                foreach (var key in new[] { "n", "median", "q1", "q3", "iqr", "pct_agree", "importance_index" })
                    Assert.True(JsonNode.DeepEquals(q!["summary"]![key], lq[key]), $"{code}.{q!["question"]} {key}: stored {q["summary"]![key]?.ToJsonString()} live {lq[key]?.ToJsonString()}");
                // The distribution comes per option for questions with options, else per value.
                var (key2, expected) = q!["counts"]!.AsArray().Count > 0 ? ("counts", q["counts"]) : ("distribution", q["summary"]!["distribution"]);
                Assert.True(JsonNode.DeepEquals(expected, lq[key2]), $"{code}.{q["question"]} {key2}: stored {expected?.ToJsonString()} live {lq[key2]?.ToJsonString()}");
            }
        }
    }

    [Theory]
    [InlineData(HttpTransportType.WebSockets)]
    [InlineData(HttpTransportType.LongPolling)]
    public async Task After_a_burst_the_last_state_received_equals_the_stored_consensus(HttpTransportType transport)
    {
        var study = await QuickStudy.CreateAsync(_app, experts: 6);
        await using var watcher = await LiveClient.ConnectAsync(_app, await TokenAsync(study.Coordinator), transport);
        var snapshot = await watcher.JoinAsync("quick-start");
        Assert.Equal("coordinator", snapshot["role"]!.GetValue<string>());
        Assert.Equal(6, snapshot["topics"]!.AsArray().Count);
        Assert.Equal(6, snapshot["progress"]!["experts_invited"]!.GetValue<int>());

        var started = DateTime.UtcNow;
        var burst = new List<Task>();
        for (int e = 0; e < 6; e++)
        {
            int expert = e;
            burst.Add(Task.Run(async () =>
            {
                foreach (var t in QuickStudy.Topics)
                {
                    await study.AnswerAsync(expert, t, QuickStudy.Answer(2 + expert, 2030 + expert));
                    await study.AnswerAsync(expert, t, QuickStudy.Answer(1 + (expert + t.Length) % 7, 2030 + expert)); // changes its mind
                }
            }));
        }
        await Task.WhenAll(burst);
        var elapsed = DateTime.UtcNow - started;
        await watcher.WaitAsync(c => c.Progress?["submissions"]?.GetValue<long>() == 72, "all 72 saves in the live state");
        await Task.Delay(600); // any later message would come within the coalescing interval

        var stored = await study.Coordinator.GetOkAsync($"{QuickStudy.S}/rounds/1/consensus");
        SameAsStored(stored, watcher.Topics);
        Assert.Equal(36, watcher.Progress!["answers_received"]!.GetValue<int>());
        Assert.Equal(6, watcher.Progress!["experts_finished"]!.GetValue<int>());
        Assert.Empty(watcher.Gaps);
        // Coalescing: at most 4 updates a second, plus the first at once.
        int updates = watcher.Received.Count(r => r.Method == "update");
        Assert.True(updates <= 2 + 4 * (elapsed.TotalSeconds + 1), $"{updates} updates in {elapsed.TotalSeconds:0.0} s");
        Assert.True(updates < 72, $"{updates} updates for 72 saves: not coalesced");
    }

    [Fact]
    public async Task Who_may_watch_what()
    {
        var study = await QuickStudy.CreateAsync(_app, experts: 4, yaml: RealTimeSurvey("progress"));
        var admin = await _app.AdminAsync();
        await Api.OkAsync(await admin.PostAsJsonAsync("/api/users", new { email = "stake@test.local", name = "Stakeholder", role = "stakeholder", password = "stakeholder-pass" }));
        var stakeholder = await _app.SignInAsync("stake@test.local", "stakeholder-pass");
        var otherCoordinator = await _app.NewCoordinatorAsync("other@test.local");

        await Api.ProblemAsync(await _app.Anonymous().PostAsync("/hubs/live/negotiate?negotiateVersion=1", null), HttpStatusCode.Unauthorized);
        await using (var other = await LiveClient.ConnectAsync(_app, await TokenAsync(otherCoordinator)))
            Assert.Contains("may not watch", (await Assert.ThrowsAsync<HubException>(() => other.JoinAsync("quick-start"))).Message);
        await using (var nobody = await LiveClient.ConnectAsync(_app, await TokenAsync(stakeholder)))
            await Assert.ThrowsAsync<HubException>(() => nobody.JoinAsync("quick-start")); // not granted yet
        await using (var missing = await LiveClient.ConnectAsync(_app, await TokenAsync(study.Coordinator)))
            Assert.Contains("no survey", (await Assert.ThrowsAsync<HubException>(() => missing.JoinAsync("nope"))).Message);

        await Api.OkAsync(await study.Coordinator.PostAsJsonAsync($"{QuickStudy.S}/stakeholders", new { email = "stake@test.local" }));
        await using var stake = await LiveClient.ConnectAsync(_app, await TokenAsync(stakeholder));
        var stakeSnapshot = await stake.JoinAsync("quick-start");
        Assert.Equal("stakeholder", stakeSnapshot["role"]!.GetValue<string>());
        await using var expert0 = await LiveClient.ConnectAsync(_app, study.Secrets[0]);
        var expertSnapshot = await expert0.JoinAsync("quick-start");
        Assert.Equal("expert", expertSnapshot["role"]!.GetValue<string>());
        Assert.Empty(expertSnapshot["topics"]!.AsArray());
        Assert.Null(expertSnapshot["progress"]);

        for (int e = 0; e < 4; e++) await study.AnswerAsync(e, "Q-T01", QuickStudy.Answer(4 + e));
        await stake.WaitAsync(c => c.Progress?["answers_received"]?.GetValue<int>() == 4, "stakeholder progress");
        await expert0.WaitAsync(c => c.Topics.ContainsKey("Q-T01"), "the expert's topic view");
        await Task.Delay(400);
        Assert.Empty(stake.Topics); // the survey publishes progress only
        Assert.Equal(["Q-T01"], expert0.Topics.Keys); // only the topic the expert answered
        var all = string.Join("\n", stake.Received.Concat(expert0.Received).Select(r => r.Message.ToJsonString()));
        foreach (var p in study.Pseudonyms) Assert.DoesNotContain(p, all);
        Assert.DoesNotContain("quick0@", all);

        // An expert of another survey, and a revoked link, are refused.
        await Api.OkAsync(await study.Coordinator.PostYamlAsync("/api/surveys", Api.Survey("national-tf-2045.yaml")));
        var outsider = await Api.OkAsync(await study.Coordinator.PostAsJsonAsync("/api/experts", new { name = "Outsider", email = "out@test.local", expertise = new[] { "F1" } }));
        var invitation = (await Api.OkAsync(await study.Coordinator.PostAsJsonAsync("/api/surveys/national-tf-2045/panel",
            new { members = new[] { new { expert_id = outsider["id"]!.GetValue<long>() } } }))).AsArray()[0]!;
        await using (var foreign = await LiveClient.ConnectAsync(_app, invitation["secret"]!.GetValue<string>()))
            await Assert.ThrowsAsync<HubException>(() => foreign.JoinAsync("quick-start"));
        await study.Coordinator.DeleteAsync($"{QuickStudy.S}/panel/{study.Members[3]}/link");
        await Assert.ThrowsAnyAsync<Exception>(async () => { await using var revoked = await LiveClient.ConnectAsync(_app, study.Secrets[3]); });
    }

    [Fact]
    public async Task Experts_see_a_topic_only_after_answering_it_and_only_from_k_answers()
    {
        var study = await QuickStudy.CreateAsync(_app, experts: 4, yaml: RealTimeSurvey());
        await using var first = await LiveClient.ConnectAsync(_app, study.Secrets[0]);
        await first.JoinAsync("quick-start");
        await using var coordinator = await LiveClient.ConnectAsync(_app, await TokenAsync(study.Coordinator));
        await coordinator.JoinAsync("quick-start");

        await study.AnswerAsync(0, "A-T01", QuickStudy.Answer(6));
        await study.AnswerAsync(1, "A-T01", QuickStudy.Answer(7));
        await coordinator.WaitAsync(c => c.Topics.TryGetValue("A-T01", out var t) && t["respondents"]!.GetValue<int>() == 2, "two answers on A-T01");
        await Task.Delay(400);
        Assert.False(first.Topics.ContainsKey("A-T01"), "2 answers < k = 3: the group view is not shown");
        Assert.Contains(first.Seqs.Keys, s => s.EndsWith(":A-T01")); // the expert is in the topic's stream

        await study.AnswerAsync(2, "A-T01", QuickStudy.Answer(7));
        await first.WaitAsync(c => c.Topics.ContainsKey("A-T01"), "the group view after the third answer");
        var view = first.Topics["A-T01"];
        Assert.Equal(3, view["respondents"]!.GetValue<int>());
        var importance = view["questions"]!.AsArray().Single(q => q!["question"]!.GetValue<string>() == "importance")!;
        Assert.Equal(7.0, importance["median"]!.GetValue<double>());
        Assert.False(first.Topics.ContainsKey("Q-T01"));

        // Expert 3 answered nothing: no topic view at all, even with k answers on A-T01.
        await using var fourth = await LiveClient.ConnectAsync(_app, study.Secrets[3]);
        var snapshot = await fourth.JoinAsync("quick-start");
        Assert.Empty(snapshot["topics"]!.AsArray());
        await study.AnswerAsync(3, "Q-T02", QuickStudy.Answer(5));
        await fourth.WaitAsync(c => c.Seqs.Keys.Any(k => k.EndsWith(":Q-T02")), "joined the Q-T02 stream after answering it");
        await Task.Delay(300);
        Assert.Empty(fourth.Topics); // one answer on Q-T02: below k
    }

    [Fact]
    public async Task A_reconnecting_client_gets_the_snapshot_then_numbered_updates()
    {
        var study = await QuickStudy.CreateAsync(_app, experts: 3);
        long seq;
        await using (var first = await LiveClient.ConnectAsync(_app, await TokenAsync(study.Coordinator)))
        {
            await first.JoinAsync("quick-start");
            await study.AnswerAsync(0, "Q-T01", QuickStudy.Answer(5));
            await first.WaitAsync(c => c.Topics["Q-T01"]["respondents"]!.GetValue<int>() == 1, "first answer");
            seq = first.Seqs["coord:1"];
        }
        await study.AnswerAsync(1, "Q-T01", QuickStudy.Answer(6));
        await study.AnswerAsync(2, "Q-T01", QuickStudy.Answer(7));
        await Task.Delay(500);

        await using var again = await LiveClient.ConnectAsync(_app, await TokenAsync(study.Coordinator), HttpTransportType.ServerSentEvents);
        var snapshot = await again.JoinAsync("quick-start");
        var topic = snapshot["topics"]!.AsArray().Single(t => t!["topic"]!.GetValue<string>() == "Q-T01")!;
        Assert.Equal(3, topic["respondents"]!.GetValue<int>()); // the state now, not what was missed
        var snapshotSeq = snapshot["streams"]!["coord:1"]!.GetValue<long>();
        Assert.True(snapshotSeq > seq);

        await study.AnswerAsync(0, "Q-T02", QuickStudy.Answer(4));
        await again.WaitAsync(c => c.Received.Any(r => r.Method == "update"), "an update after the snapshot");
        var update = again.Received.First(r => r.Method == "update").Message;
        Assert.Equal(snapshotSeq + 1, update["seq"]!.GetValue<long>());
        Assert.Empty(again.Gaps);
    }

    [Fact]
    public async Task Round_events_are_pushed()
    {
        var study = await QuickStudy.CreateAsync(_app, experts: 2, open: false);
        await using var coordinator = await LiveClient.ConnectAsync(_app, await TokenAsync(study.Coordinator));
        var snapshot = await coordinator.JoinAsync("quick-start");
        Assert.Null(snapshot["round"]);
        await using var expert = await LiveClient.ConnectAsync(_app, study.Secrets[0]);
        await expert.JoinAsync("quick-start");

        await study.OpenAsync();
        await study.Coordinator.PutOkAsync($"{QuickStudy.S}/rounds/1/deadline", new { deadline = DateTimeOffset.UtcNow.AddDays(3) });
        await study.CloseAsync(1);
        foreach (var client in new[] { coordinator, expert })
            await client.WaitAsync(c => c.Received.Count(r => r.Method == "round") == 3, "opened, deadline_changed, closed");
        Assert.Equal(["opened", "deadline_changed", "closed"], expert.Received.Where(r => r.Method == "round").Select(r => r.Message["event"]!.GetValue<string>()));
        Assert.Empty(coordinator.Gaps);
        Assert.Empty(expert.Gaps);
    }
}

/// <summary>The same hub over real Kestrel on 127.0.0.1 and WebSockets.</summary>
public sealed class LiveKestrelTests : IDisposable
{
    readonly ForesightFactory _app = new ForesightFactory().With("Foresight:Live:MaxUpdatesPerSecond", "5");
    public void Dispose() => _app.Dispose();

    [Fact]
    public async Task Updates_arrive_over_real_websockets_and_end_in_the_stored_state()
    {
        var address = _app.StartKestrel();
        Assert.Equal("127.0.0.1", address.Host);
        var study = await QuickStudy.CreateAsync(_app, experts: 5);
        await using var watcher = await LiveClient.ConnectAsync(_app, study.Coordinator.DefaultRequestHeaders.Authorization!.Parameter);
        await watcher.JoinAsync("quick-start");
        await Parallel.ForAsync(0, 5, async (e, _) =>
        {
            foreach (var t in QuickStudy.Topics) await study.AnswerAsync(e, t, QuickStudy.Answer(3 + e));
        });
        await watcher.WaitAsync(c => c.Progress?["answers_received"]?.GetValue<int>() == 30, "30 topic answers");
        await Task.Delay(400);
        var stored = await study.Coordinator.GetOkAsync($"{QuickStudy.S}/rounds/1/consensus");
        foreach (var topic in stored["topics"]!.AsArray())
        {
            var live = watcher.Topics[topic!["code"]!.GetValue<string>()];
            var q = topic["questions"]!.AsArray().Single(x => x!["question"]!.GetValue<string>() == "importance")!["summary"]!;
            var lq = live["questions"]!.AsArray().Single(x => x!["question"]!.GetValue<string>() == "importance")!;
            Assert.True(JsonNode.DeepEquals(q["median"], lq["median"]) && JsonNode.DeepEquals(q["q3"], lq["q3"]) && JsonNode.DeepEquals(q["n"], lq["n"]));
        }
        Assert.Empty(watcher.Gaps);
    }
}
