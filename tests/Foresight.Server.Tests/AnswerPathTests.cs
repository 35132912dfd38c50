using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Dapper;
using Foresight.Core.Answers;
using Foresight.Core.Surveys;
using Foresight.Server.Plumbing;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;

namespace Foresight.Server.Tests;

/// <summary>
/// Issue 23: one path for answer writes (topic answers and rankings alike through the answer writer, its stored reply
/// the endpoint's), one rule for whether the round is open for the expert (by the server's clock, the round's panel),
/// change events after the commit, and the answer rules handed to the page's script.
/// </summary>
public sealed class AnswerPathTests : IDisposable
{
    readonly ForesightFactory _app = new();
    readonly TestClock _clock = new();
    readonly Recorder _heard = new();
    public AnswerPathTests() => _app.WithServices(s => s.AddSingleton<TimeProvider>(_clock).AddSingleton(_heard)
        .AddChangeHandler<AnswerSaved, Recorder>().AddChangeHandler<RankingSaved, Recorder>());
    public void Dispose() => _app.Dispose();

    const string Q = $"{QuickStudy.S}/questionnaire";
    static readonly string[] First = ["A-T02", "Q-T01", "A-T01", "Q-T03", "Q-T02", "A-T03"];
    static readonly string[] Second = ["Q-T01", "Q-T02", "Q-T03", "A-T01", "A-T02", "A-T03"];

    static HttpRequestMessage Keyed(string url, object body, string key)
    {
        var request = new HttpRequestMessage(HttpMethod.Put, url) { Content = JsonContent.Create(body) };
        request.Headers.Add("Idempotency-Key", key);
        return request;
    }

    SqliteConnection Connect() => new($"Data Source={_app.DatabasePath}");

    [Fact]
    public async Task A_ranking_is_written_by_the_answer_writer_and_an_idempotency_key_replays_it()
    {
        var study = await QuickStudy.CreateAsync(_app, experts: 1);
        var expert = study.Experts[0];
        var first = await expert.SendAsync(Keyed($"{Q}/rankings/priority", new { order = First }, "rank-1"));
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        var firstBytes = await first.Content.ReadAsByteArrayAsync();
        await expert.PutOkAsync($"{Q}/rankings/priority", new { order = Second });

        // The same request again: the first answer, byte for byte, and nothing changed.
        var replay = await expert.SendAsync(Keyed($"{Q}/rankings/priority", new { order = First }, "rank-1"));
        Assert.Equal(HttpStatusCode.OK, replay.StatusCode);
        Assert.Equal(firstBytes, await replay.Content.ReadAsByteArrayAsync());
        Assert.Equal(first.Content.Headers.ContentType, replay.Content.Headers.ContentType);
        var order = (await expert.GetOkAsync(Q))["rankings"]![0]!["your_order"]!.AsArray().Select(x => x!.GetValue<string>());
        Assert.Equal(Second, order);
        // The key for another ranking is refused.
        await Api.ProblemAsync(await expert.SendAsync(Keyed($"{Q}/rankings/priority", new { order = Second.Reverse() }, "rank-1")), HttpStatusCode.Conflict);

        // Each rank change is in the topic's history, as the writer records answers.
        var history = (await expert.GetOkAsync($"{Q}/topics/Q-T01/history")).AsArray();
        Assert.Equal(["2", "1"], history.Where(h => h!["question"]!.GetValue<string>() == "priority").Select(h => h!["value"]!.GetValue<string>()));
        await using var c = Connect();
        Assert.Equal(1, await c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM submissions"));
    }

    [Fact]
    public async Task A_keyed_save_is_answered_with_the_very_response_it_stored()
    {
        var study = await QuickStudy.CreateAsync(_app, experts: 1);
        var first = await study.Experts[0].SendAsync(Keyed($"{Q}/topics/Q-T01", QuickStudy.Answer(5), "save-1"));
        var replay = await study.Experts[0].SendAsync(Keyed($"{Q}/topics/Q-T01", QuickStudy.Answer(5), "save-1"));
        var bytes = await first.Content.ReadAsByteArrayAsync();
        Assert.Equal(bytes, await replay.Content.ReadAsByteArrayAsync());
        Assert.Equal(first.Content.Headers.ContentType, replay.Content.Headers.ContentType);
        await using var c = Connect();
        Assert.Equal(System.Text.Encoding.UTF8.GetString(bytes), await c.ExecuteScalarAsync<string>("SELECT response FROM submissions"));
    }

    [Fact]
    public async Task Saved_answers_and_rankings_are_published_after_their_commit()
    {
        var study = await QuickStudy.CreateAsync(_app, experts: 1);
        var heard = _heard.Heard;
        // What a handler reads when it hears the change is committed already.
        _heard.Stored = () => { using var c = Connect(); return c.ExecuteScalar<long>("SELECT COUNT(*) FROM topic_answers"); };
        await using var c = Connect();
        var round = await c.ExecuteScalarAsync<long>("SELECT id FROM rounds");

        await study.AnswerAsync(0, "Q-T01", QuickStudy.Answer(5));
        await study.AnswerAsync(0, "Q-T01", QuickStudy.Answer(5)); // nothing changes: nothing to tell
        await study.Experts[0].PutOkAsync($"{Q}/rankings/priority", new { order = new[] { "Q-T02", "Q-T01" } });

        Assert.Equal(2, heard.Count);
        var (answer, rowsThen) = heard.First();
        var saved = Assert.IsType<AnswerSaved>(answer);
        Assert.Equal((round, study.Members[0], study.Pseudonyms[0], "Q-T01"), (saved.RoundId, saved.MemberId, saved.Pseudonym, saved.Topic));
        Assert.Equal(5, saved.Answers["importance"].Value.Number);
        Assert.Equal(1, rowsThen);
        var (ranking, rowsAfterRanking) = heard.Last();
        var ranked = Assert.IsType<RankingSaved>(ranking);
        Assert.Equal((round, "priority"), (ranked.RoundId, ranked.Ranking));
        Assert.Equal(new Dictionary<string, double?> { ["Q-T01"] = 2, ["Q-T02"] = 1 }, ranked.Ranks);
        Assert.Equal(2, rowsAfterRanking);
    }

    [Fact]
    public async Task Past_the_deadline_by_the_servers_clock_nothing_is_taken_and_the_pages_say_so()
    {
        var study = await QuickStudy.CreateAsync(_app, experts: 1);
        var expert = study.Experts[0];
        await study.Coordinator.PutOkAsync($"{QuickStudy.S}/rounds/1/deadline", new { deadline = DateTimeOffset.UtcNow.AddHours(1) });
        await study.AnswerAsync(0, "Q-T01", QuickStudy.Answer(5));
        Assert.DoesNotContain("disabled", await FormTagAsync(expert, "/survey/quick-start/topics/Q-T01"));

        _clock.Advance(TimeSpan.FromHours(2));
        // Refused from the deadline on, whether the round has closed itself yet or not.
        const string Late = "deadline|No round is open";
        Assert.Matches(Late, await DetailAsync(await expert.PutAsJsonAsync($"{Q}/topics/Q-T01", QuickStudy.Answer(6))));
        Assert.Matches(Late, await DetailAsync(await expert.PutAsJsonAsync($"{Q}/rankings/priority", new { order = First })));
        Assert.Matches(Late, await DetailAsync(await expert.PutAsJsonAsync($"{Q}/profile", new { answers = new { org_type = "UNI", region = "ABROAD" } })));
        Assert.Matches(Late, await DetailAsync(await expert.PostAsJsonAsync($"{QuickStudy.S}/topics/Q-T01/messages", new { body = "Too late?" })));

        // The pages show the round as closed: notices, and forms that take nothing.
        Assert.Contains("disabled", await FormTagAsync(expert, "/survey/quick-start/topics/Q-T01"));
        const string Closed = "This round has closed; answers can no longer be changed.";
        foreach (var page in new[] { "/survey/quick-start?lang=en", "/survey/quick-start/topics/Q-T01?lang=en", "/survey/quick-start/rankings/priority?lang=en",
            "/survey/quick-start/profile?lang=en" })
            Assert.Contains(Closed, await PageTextAsync(expert, page));
        Assert.DoesNotContain("Post message", await expert.GetStringAsync("/survey/quick-start/topics/Q-T01?lang=en"));
        await using var c = Connect();
        Assert.Equal(5.0, await c.ExecuteScalarAsync<double>("SELECT number FROM answers WHERE question = 'importance'"));
    }

    [Fact]
    public async Task An_expert_not_on_the_rounds_panel_reads_but_does_not_answer()
    {
        // Revoked before round 1 opened, so not invited to it; the renewed link signs the expert in again.
        var study = await QuickStudy.CreateAsync(_app, experts: 2, open: false);
        Assert.Equal(HttpStatusCode.NoContent, (await study.Coordinator.DeleteAsync($"{QuickStudy.S}/panel/{study.Members[1]}/link")).StatusCode);
        await study.OpenAsync();
        var renewed = await study.Coordinator.PostOkAsync($"{QuickStudy.S}/panel/{study.Members[1]}/link");
        var expert = _app.WithToken(renewed["secret"]!.GetValue<string>());

        await expert.GetOkAsync(Q);
        var refused = await Api.ProblemAsync(await expert.PutAsJsonAsync($"{Q}/topics/Q-T01", QuickStudy.Answer(5)), HttpStatusCode.Conflict);
        Assert.Contains("not on the panel of round 1", refused["detail"]!.GetValue<string>());
        await Api.ProblemAsync(await expert.PutAsJsonAsync($"{Q}/rankings/priority", new { order = First }), HttpStatusCode.Conflict);
        await Api.ProblemAsync(await expert.PostAsJsonAsync($"{QuickStudy.S}/topics/Q-T01/messages", new { body = "Hello" }), HttpStatusCode.Conflict);
        Assert.Contains("You are not on this round's panel", await PageTextAsync(expert, "/survey/quick-start?lang=en"));
        Assert.Contains("您不在本轮的专家名单中", await PageTextAsync(expert, "/survey/quick-start/topics/Q-T01?lang=zh-CN"));
        // The expert invited to the round answers as ever.
        await study.AnswerAsync(0, "Q-T01", QuickStudy.Answer(5));
    }

    [Fact]
    public async Task The_answer_writer_asks_again_whether_the_expert_is_on_the_rounds_panel()
    {
        var study = await QuickStudy.CreateAsync(_app, experts: 1);
        await study.AnswerAsync(0, "Q-T01", QuickStudy.Answer(5)); // the request's check remembers the expert is on the panel
        await using var c = Connect();
        await c.ExecuteAsync("DELETE FROM round_members WHERE member_id = @member", new { member = study.Members[0] });
        var refused = await Api.ProblemAsync(await study.Experts[0].PutAsJsonAsync($"{Q}/topics/Q-T01", QuickStudy.Answer(6)), HttpStatusCode.Conflict);
        Assert.Contains("not on the panel of round 1", refused["detail"]!.GetValue<string>());
        Assert.Equal(5.0, await c.ExecuteScalarAsync<double>("SELECT number FROM answers WHERE question = 'importance'"));
    }

    [Fact]
    public async Task Answers_history_and_messages_are_dated_by_the_servers_clock()
    {
        var study = await QuickStudy.CreateAsync(_app, experts: 1);
        _clock.Advance(TimeSpan.FromDays(40));
        var today = _clock.GetUtcNow().ToString("yyyy-MM-dd");
        await study.AnswerAsync(0, "Q-T01", QuickStudy.Answer(5));
        await study.Experts[0].PutOkAsync($"{Q}/rankings/priority", new { order = First });
        var message = await study.Experts[0].PostOkAsync($"{QuickStudy.S}/topics/Q-T01/messages", new { body = "Dated?" });
        Assert.StartsWith(today, message["created_at"]!.GetValue<string>());
        await using var c = Connect();
        Assert.All(await c.QueryAsync<string>("SELECT recorded_at FROM answer_history"), at => Assert.StartsWith(today, at));
        Assert.All(await c.QueryAsync<string>("SELECT updated_at FROM answers"), at => Assert.StartsWith(today, at));
        Assert.StartsWith(today, await c.ExecuteScalarAsync<string>("SELECT created_at FROM messages"));
    }

    [Fact]
    public async Task The_topic_page_hands_its_script_the_rules_the_save_applies()
    {
        var study = await QuickStudy.CreateAsync(_app, experts: 1, yaml: AnswersTests.RulesSurvey);
        var html = await study.Experts[0].GetStringAsync("/survey/quick-start/topics/Q-T01");
        var data = Regex.Match(html, "<form [^>]*id=\"answers\"[^>]* data-rules=\"([^\"]*)\"");
        Assert.True(data.Success, "the page has no rules for its script");
        var rules = WebUtility.HtmlDecode(data.Groups[1].Value);
        var survey = SurveyFile.Parse(AnswersTests.RulesSurvey).Survey!;
        Assert.Equal(AnswerRules.For(survey, 1).ToJson(), rules);
        var gap = JsonNode.Parse(rules)!["questions"]!.AsArray().Single(q => q!["id"]!.GetValue<string>() == "gap")!;
        Assert.Equal("""[{"question":"familiarity","not_in":["1"]},{"question":"level","in":["FOLLOW"]}]""", gap["asked_when"]!.ToJsonString());
        // The script finds the rules there, not in attributes of its own.
        Assert.DoesNotContain("data-when-question", html);
        Assert.DoesNotContain("data-skips", html);
    }

    /// <summary>A page's HTML with its character references read (the page encodes apostrophes and Chinese).</summary>
    static async Task<string> PageTextAsync(HttpClient client, string page) => WebUtility.HtmlDecode(await client.GetStringAsync(page));

    static async Task<string> DetailAsync(HttpResponseMessage response) =>
        (await Api.ProblemAsync(response, HttpStatusCode.Conflict))["detail"]!.GetValue<string>();

    /// <summary>The topic form's answers fieldset (disabled when answers are not taken).</summary>
    static async Task<string> FormTagAsync(HttpClient expert, string page) =>
        Regex.Match(await expert.GetStringAsync(page), "<fieldset class=\"plain\"[^>]*>").Value;

    /// <summary>A handler of saved answers and rankings, as any feature registers one.</summary>
    public sealed class Recorder : IChangeHandler<AnswerSaved>, IChangeHandler<RankingSaved>
    {
        public readonly ConcurrentQueue<(object Change, long StoredRows)> Heard = new();
        public Func<long> Stored { get; set; } = () => -1;

        public Task HandleAsync(AnswerSaved change) => Record(change);
        public Task HandleAsync(RankingSaved change) => Record(change);

        Task Record(object change)
        {
            Heard.Enqueue((change, Stored()));
            return Task.CompletedTask;
        }
    }
}
