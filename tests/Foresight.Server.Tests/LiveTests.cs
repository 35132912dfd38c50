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
        .Replace(
        "feedback:\n  by_group: org_type", $"live:\n  real_time: true\n  min_answers: 3\n  stakeholders: {stakeholders}\n\nfeedback:\n  by_group: org_type");

    static async Task<string> TokenAsync(HttpClient client) =>
        client.DefaultRequestHeaders.Authorization!.Parameter!;

    /// <summary>
    /// Compares the live figures of every question with the consensus computed from the stored answers: the first
    /// difference, or null when the live state is the stored one.
    /// </summary>
    static string? Difference(JsonNode stored, IReadOnlyDictionary<string, JsonNode> live)
    {
        foreach (var topic in stored["topics"]!.AsArray())
        {
            var code = topic!["code"]!.GetValue<string>();
            if (!live.TryGetValue(code, out var l)) return $"no live state for {code}";
            if (topic["respondents"]!.GetValue<int>() != l["respondents"]!.GetValue<int>())
                return $"{code} respondents: stored {topic["respondents"]} live {l["respondents"]}";
            if (topic["state"]!.GetValue<string>() != l["state"]!.GetValue<string>()) return $"{code} state: stored {topic["state"]} live {l["state"]}";
            foreach (var q in topic["questions"]!.AsArray().Where(q => q!["summary"] is JsonObject))
            {
                var lq = l["questions"]!.AsArray().Single(x => x!["question"]!.GetValue<string>() == q!["question"]!.GetValue<string>())!;
                foreach (var key in new[] { "n", "median", "q1", "q3", "iqr", "pct_agree", "importance_index" })
                    if (!JsonNode.DeepEquals(q!["summary"]![key], lq[key]))
                        return $"{code}.{q!["question"]} {key}: stored {q["summary"]![key]?.ToJsonString()} live {lq[key]?.ToJsonString()}";
                // The distribution comes per option for questions with options, else per value.
                var (key2, expected) = q!["counts"]!.AsArray().Count > 0 ? ("counts", q["counts"]) : ("distribution", q["summary"]!["distribution"]);
                if (!JsonNode.DeepEquals(expected, lq[key2]))
                    return $"{code}.{q["question"]} {key2}: stored {expected?.ToJsonString()} live {lq[key2]?.ToJsonString()}";
            }
        }
        return null;
    }

    /// <summary>The respondents of every view of <paramref name="topic"/> a client has received (snapshots and updates), in order.</summary>
    static List<int> ViewsOf(LiveClient client, string topic) =>
        client.Received.SelectMany(r => r.Message["topics"]?.AsArray() ?? [])
            .Where(t => t!["topic"]!.GetValue<string>() == topic).Select(t => t!["respondents"]!.GetValue<int>()).ToList();

    /// <summary>The client's stream whose name starts with <paramref name="prefix"/>, and its last sequence number.</summary>
    static (string Name, long Seq) StreamOf(LiveClient client, string prefix) =>
        client.Seqs.Where(s => s.Key.StartsWith(prefix, StringComparison.Ordinal)).Select(s => (s.Key, s.Value)).Single();

    [Theory]
    [InlineData(HttpTransportType.WebSockets)]
    [InlineData(HttpTransportType.LongPolling)]
    public async Task After_a_burst_the_last_state_received_equals_the_stored_consensus(HttpTransportType transport)
    {
        var study = await QuickStudy.CreateAsync(_app, experts: 6);
        await using var watcher = await LiveClient.ConnectAsync(_app, await TokenAsync(study.Coordinator), transport);
        var joined = DateTime.UtcNow; // the stream's updates are all sent after this
        var snapshot = await watcher.JoinAsync("quick-start");
        Assert.Equal("coordinator", snapshot["role"]!.GetValue<string>());
        Assert.Equal(6, snapshot["topics"]!.AsArray().Count);
        Assert.Equal(6, snapshot["progress"]!["experts_invited"]!.GetValue<int>());

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
        await watcher.WaitAsync(c => c.Progress?["submissions"]?.GetValue<long>() == 72, "all 72 saves in the live state");

        // The last state received is the stored consensus. A topic's last change may come in a message after the one
        // with the last progress (it is sent once the interval allows): the test waits for that state, not for a time.
        var stored = await study.Coordinator.GetOkAsync($"{QuickStudy.S}/rounds/1/consensus");
        await Wait.UntilAsync(() => Difference(stored, watcher.Topics) is null,
            () => $"the live state to be the stored consensus: {Difference(stored, watcher.Topics)}", pollMs: 20);
        Assert.Equal(36, watcher.Progress!["answers_received"]!.GetValue<int>());
        Assert.Equal(6, watcher.Progress!["experts_finished"]!.GetValue<int>());
        Assert.Empty(watcher.Gaps);
        // Coalescing: the server sends a stream's updates at least 1/4 s apart (the first at once), all of them after
        // the watcher joined and before the last one arrived. So however slow the machine, N updates took at least
        // (N - 1) / 4 s of that span; a server that sent one per save crowds far more into it (on a fast machine, 72
        // saves in a second or two).
        var updates = watcher.Received.Where(r => r.Method == "update").ToList();
        var span = updates.Max(u => u.At) - joined;
        Assert.True(updates.Count <= 2
            + 4 * span.TotalSeconds, $"{updates.Count} updates for 72 saves within {span.TotalSeconds:0.00} s: more than 4 a second");
    }

    [Fact]
    public async Task Who_may_watch_what()
    {
        var study = await QuickStudy.CreateAsync(_app, experts: 4, yaml: RealTimeSurvey("progress"));
        var admin = await _app.AdminAsync();
        await Api.OkAsync(await admin.PostAsJsonAsync("/api/users", new { email = "stake@test.local", name = "Stakeholder", role = "stakeholder",
            password = "stakeholder-pass" }));
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
        // What must not come is proved with a later change as a marker, not with a pause: a stream's messages arrive in
        // order, and the one that shows the change comes from a pass after the first four answers were in. So once it is
        // here, anything those answers would have sent is here too.
        long submissions = stake.Progress!["submissions"]!.GetValue<long>();
        var (rt, seen) = StreamOf(expert0, "rt:");
        await study.AnswerAsync(1, "Q-T01", QuickStudy.Answer(7)); // expert 1 changes its mind
        await stake.WaitAsync(c => c.Progress?["submissions"]?.GetValue<long>() > submissions, "the stakeholders' progress after the change");
        await expert0.WaitAsync(c => c.Seqs[rt] > seen, "the expert's topic view after the change");
        Assert.Empty(stake.Topics); // the survey publishes progress only
        Assert.Equal(["Q-T01"], expert0.Topics.Keys); // only the topic the expert answered
        var all = string.Join("\n", stake.Received.Concat(expert0.Received).Select(r => r.Message.ToJsonString()));
        foreach (var p in study.Pseudonyms) Assert.DoesNotContain(p, all);
        Assert.DoesNotContain("quick0@", all);

        // An expert of another survey, and a revoked link, are refused.
        await Api.OkAsync(await study.Coordinator.PostYamlAsync("/api/surveys", Api.Survey("national-tf-2045.yaml")));
        var outsider = await Api.OkAsync(await study.Coordinator.PostAsJsonAsync("/api/experts",
            new { name = "Outsider", email = "out@test.local", expertise = new[] { "F1" } }));
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
        await first.WaitAsync(c => c.Seqs.Keys.Any(s => s.EndsWith(":A-T01")), "the expert in the topic's stream");
        Assert.False(first.Topics.ContainsKey("A-T01"), "2 answers < k = 3: the group view is not shown");

        // The third answer is the marker: its view comes in the topic's stream after anything the first two sent, and
        // no view before it showed the topic with fewer than k answers.
        await study.AnswerAsync(2, "A-T01", QuickStudy.Answer(7));
        await first.WaitAsync(c => c.Topics.ContainsKey("A-T01"), "the group view after the third answer");
        Assert.All(ViewsOf(first, "A-T01"), n => Assert.True(n >= 3, $"a group view of A-T01 with {n} < k = 3 answers"));
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
        Assert.Empty(fourth.Topics); // one answer on Q-T02: below k
        // The marker: two more answers bring Q-T02 to k; its view comes then, and none came before it.
        await study.AnswerAsync(0, "Q-T02", QuickStudy.Answer(5));
        await study.AnswerAsync(1, "Q-T02", QuickStudy.Answer(6));
        await fourth.WaitAsync(c => c.Topics.ContainsKey("Q-T02"), "the group view of Q-T02 at k answers");
        Assert.All(ViewsOf(fourth, "Q-T02"), n => Assert.True(n >= 3, $"a group view of Q-T02 with {n} < k = 3 answers"));
        Assert.Equal(["Q-T02"], fourth.Topics.Keys);
    }

    [Fact]
    public async Task A_reconnecting_client_gets_the_snapshot_then_numbered_updates()
    {
        var study = await QuickStudy.CreateAsync(_app, experts: 3);
        static bool Respondents(LiveClient c, int n) => c.Topics.TryGetValue("Q-T01", out var t) && t["respondents"]!.GetValue<int>() == n;
        // Another coordinator's connection stays throughout: it shows when the stream has sent what was missed.
        await using var witness = await LiveClient.ConnectAsync(_app, await TokenAsync(study.Coordinator));
        await witness.JoinAsync("quick-start");
        long seq;
        await using (var first = await LiveClient.ConnectAsync(_app, await TokenAsync(study.Coordinator)))
        {
            await first.JoinAsync("quick-start");
            await study.AnswerAsync(0, "Q-T01", QuickStudy.Answer(5));
            await first.WaitAsync(c => Respondents(c, 1), "first answer");
            seq = first.Seqs["coord:1"];
        }
        await study.AnswerAsync(1, "Q-T01", QuickStudy.Answer(6));
        await study.AnswerAsync(2, "Q-T01", QuickStudy.Answer(7));
        await witness.WaitAsync(c => Respondents(c, 3), "the two answers sent while the first client was away");

        await using var again = await LiveClient.ConnectAsync(_app, await TokenAsync(study.Coordinator), HttpTransportType.ServerSentEvents);
        var snapshot = await again.JoinAsync("quick-start");
        var topic = snapshot["topics"]!.AsArray().Single(t => t!["topic"]!.GetValue<string>() == "Q-T01")!;
        Assert.Equal(3, topic["respondents"]!.GetValue<int>()); // the state now, not what was missed
        var snapshotSeq = snapshot["streams"]!["coord:1"]!.GetValue<long>();
        Assert.True(snapshotSeq > seq);

        // The first update after the snapshot is numbered next (one the stream sent as the client joined may come
        // with the snapshot's number or before it; the client skips it, as the page does).
        static IEnumerable<JsonNode> After(LiveClient c, long s) => c.Received.Where(r => r.Method == "update" && r.Message["seq"]!.GetValue<long>() > s)
            .Select(r => r.Message);
        await study.AnswerAsync(0, "Q-T02", QuickStudy.Answer(4));
        await again.WaitAsync(c => After(c, snapshotSeq).Any(), "an update after the snapshot");
        Assert.Equal(snapshotSeq + 1, After(again, snapshotSeq).First()["seq"]!.GetValue<long>());
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
        Assert.Equal(["opened", "deadline_changed", "closed"], expert.Received.Where(r => r.Method == "round")
            .Select(r => r.Message["event"]!.GetValue<string>()));
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
        // A topic's last change may come in a message after the one with the last progress: waited for, not slept on.
        var stored = await study.Coordinator.GetOkAsync($"{QuickStudy.S}/rounds/1/consensus");
        bool Same()
        {
            foreach (var topic in stored["topics"]!.AsArray())
            {
                if (!watcher.Topics.TryGetValue(topic!["code"]!.GetValue<string>(), out var live)) return false;
                var q = topic["questions"]!.AsArray().Single(x => x!["question"]!.GetValue<string>() == "importance")!["summary"]!;
                var lq = live["questions"]!.AsArray().Single(x => x!["question"]!.GetValue<string>() == "importance")!;
                if (!(JsonNode.DeepEquals(q["median"], lq["median"]) && JsonNode.DeepEquals(q["q3"], lq["q3"]) && JsonNode.DeepEquals(q["n"], lq["n"])))
                    return false;
            }
            return true;
        }
        await Wait.UntilAsync(Same, "the live importance figures to be the stored ones", pollMs: 20);
        Assert.Empty(watcher.Gaps);
    }
}
