using System.Net;
using Microsoft.Extensions.DependencyInjection;

namespace Foresight.Server.Tests;

/// <summary>
/// Issue 24: several server nodes on one database, their change events relayed through a real Redis server
/// (FORESIGHT_TEST_REDIS, started by .ci/test.sh). The second node's clock stands still, so its caches never expire on
/// their own: whatever it learns, it learns from the relay.
/// </summary>
public sealed class MultiNodeTests : IDisposable
{
    const string S = QuickStudy.S;
    static string Redis => Environment.GetEnvironmentVariable("FORESIGHT_TEST_REDIS")
        ?? throw new InvalidOperationException("FORESIGHT_TEST_REDIS is not set: run the tests with .ci/test.sh, which starts Redis");

    readonly ForesightFactory _a = new ForesightFactory().With("ConnectionStrings:Redis", Redis);
    readonly ForesightFactory _b;

    public MultiNodeTests() => _b = new ForesightFactory().With("Foresight:Database", _a.DatabasePath).With("ConnectionStrings:Redis", Redis)
        .WithServices(s => s.AddSingleton<TimeProvider>(new StoppedClock(DateTimeOffset.UtcNow)));

    /// <summary>A clock that does not move: node B's credential cache (30 s) never expires on its own.</summary>
    sealed class StoppedClock(DateTimeOffset at) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => at;
    }

    public void Dispose()
    {
        _b.Dispose();
        _a.Dispose();
    }

    [Fact]
    public async Task A_link_revoked_on_one_node_is_refused_on_the_other_at_once()
    {
        var study = await QuickStudy.CreateAsync(_a, experts: 1);
        var expertOnB = _b.WithToken(study.Secrets[0]);
        // Node B has the link's expert in its credential cache now.
        Assert.Equal(HttpStatusCode.OK, (await expertOnB.GetAsync($"{S}/questionnaire")).StatusCode);

        var revoked = await study.Coordinator.DeleteAsync($"{S}/panel/{study.Members[0]}/link");
        Assert.True(revoked.IsSuccessStatusCode, await revoked.Content.ReadAsStringAsync());
        await Wait.UntilAsync(async () => (await expertOnB.GetAsync($"{S}/questionnaire")).StatusCode == HttpStatusCode.Unauthorized,
            "node B to refuse the link revoked on node A");
    }

    [Fact]
    public async Task An_answer_saved_on_one_node_is_in_the_live_consensus_of_the_other()
    {
        var study = await QuickStudy.CreateAsync(_a, experts: 3);
        var coordinatorOnB = await _b.SignInAsync("coordinator@test.local", "coordinator-password");
        await study.AnswerAsync(0, "Q-T01", QuickStudy.Answer(5));
        static int Respondents(System.Text.Json.Nodes.JsonNode c) =>
            c["topics"]!.AsArray().Single(t => t!["code"]!.GetValue<string>() == "Q-T01")!["respondents"]!.GetValue<int>();
        // Node B keeps the open round's live state from here on. The relay is asynchronous: node B hears the answer soon,
        // not before node A's reply to the expert.
        await Wait.UntilAsync(async () => Respondents(await coordinatorOnB.GetOkAsync($"{S}/rounds/1/consensus")) == 1,
            "node B's live consensus to have the first answer");

        await study.AnswerAsync(1, "Q-T01", QuickStudy.Answer(6));
        await study.AnswerAsync(2, "Q-T01", QuickStudy.Answer(7));
        await Wait.UntilAsync(async () => Respondents(await coordinatorOnB.GetOkAsync($"{S}/rounds/1/consensus")) == 3,
            "node B's live consensus to have the answers saved on node A");
    }
}
