using System.Net;
using System.Net.Http.Json;
using System.Text;
using Dapper;
using Microsoft.Data.Sqlite;

namespace Foresight.Server.Tests;

public sealed class AnswersTests : IDisposable
{
    readonly ForesightFactory _app = new();
    public void Dispose() => _app.Dispose();

    internal const string RulesSurvey = """
        format: foresight/survey-v1
        id: quick-start
        title: {zh-CN: 规则测试, en: Rules test}
        languages: [zh-CN, en]
        questions:
          - id: familiarity
            kind: ordinal
            role: familiarity
            text: {zh-CN: 熟悉程度, en: Familiarity}
            options:
              - {code: 4, label: {zh-CN: 很熟悉, en: Very familiar}, weight: 1}
              - {code: 3, label: {zh-CN: 熟悉, en: Familiar}, weight: 0.75}
              - {code: 1, label: {zh-CN: 不熟悉, en: Not familiar}, weight: 0, skips_topic: true}
          - id: importance
            kind: ordinal
            text: {zh-CN: 重要程度, en: Importance}
            required: true
            allow_dont_know: true
            agree: [3, 4]
            options:
              - {code: 4, label: {zh-CN: 很重要, en: Very important}}
              - {code: 3, label: {zh-CN: 重要, en: Important}}
              - {code: 2, label: {zh-CN: 一般, en: Moderate}}
              - {code: 1, label: {zh-CN: 不重要, en: Not important}}
          - id: level
            kind: ordinal
            text: {zh-CN: 研发水平, en: R&D level}
            options:
              - {code: LEAD, value: 3, label: {zh-CN: 领跑, en: Leading}}
              - {code: PAR, value: 2, label: {zh-CN: 并跑, en: On par}}
              - {code: FOLLOW, value: 1, label: {zh-CN: 跟跑, en: Following}}
          - id: gap
            kind: choice
            text: {zh-CN: 差距, en: Gap}
            when: {question: level, in: [FOLLOW]}
            options:
              - {code: G1, label: {zh-CN: 3年以内, en: "< 3 years"}}
              - {code: G2, label: {zh-CN: 3年以上, en: "> 3 years"}}
          - id: tech_year
            kind: year
            min: 2025
            max: 2060
            allow_never: true
            text: {zh-CN: 技术实现, en: Technical realisation}
          - id: social_year
            kind: year
            min: 2025
            max: 2060
            allow_never: true
            not_before: tech_year
            text: {zh-CN: 社会实现, en: Social realisation}
          - id: risk
            kind: rating
            min: 1
            max: 5
            rationale: always
            text: {zh-CN: 风险, en: Risk}
        consensus:
          questions:
            importance: {iqr_max: 1}
        fields:
          - code: Q
            name: {zh-CN: 领域, en: Field}
            topics:
              - {code: Q-T01, title: {zh-CN: 课题一, en: Topic one}}
              - {code: Q-T02, title: {zh-CN: 课题二, en: Topic two}}
        """;

    const string T = $"{QuickStudy.S}/questionnaire/topics/Q-T01";

    [Fact]
    public async Task The_history_keeps_a_Chinese_rationale_as_written()
    {
        const string why = "储能成本下降，示范项目已有成效";
        var study = await QuickStudy.CreateAsync(_app, experts: 1);
        await study.AnswerAsync(0, "Q-T01", QuickStudy.Answer(5, rationale: why));
        var history = (await study.Experts[0].GetOkAsync($"{T}/history")).AsArray();
        Assert.Equal(why, history.Single(h => h!["question"]!.GetValue<string>() == "importance")!["rationale"]!.GetValue<string>());
        // Stored as the text itself, not as \u escapes at twice the size.
        await using var c = new SqliteConnection($"Data Source={_app.DatabasePath}");
        Assert.Contains(why, await c.ExecuteScalarAsync<string>("SELECT changes FROM answer_history"));
    }

    [Fact]
    public async Task Every_change_is_kept_the_last_counts_and_a_repeated_request_is_stored_once()
    {
        var study = await QuickStudy.CreateAsync(_app, experts: 1);
        var first = await study.AnswerAsync(0, "Q-T01", QuickStudy.Answer(5));
        Assert.Equal(4, first["changed"]!.AsArray().Count);
        var again = await study.AnswerAsync(0, "Q-T01", QuickStudy.Answer(5));
        Assert.Empty(again["changed"]!.AsArray());
        await study.AnswerAsync(0, "Q-T01", new { answers = new { importance = 6 } });
        await study.AnswerAsync(0, "Q-T01", new { answers = new { feasibility = (int?)null } });

        var history = (await study.Experts[0].GetOkAsync($"{T}/history")).AsArray();
        Assert.Equal(6, history.Count); // 4 first answers, importance changed, feasibility cleared
        Assert.Equal(["5", "6"], history.Where(h => h!["question"]!.GetValue<string>() == "importance").Select(h => h!["value"]!.GetValue<string>()));
        Assert.Null(history.Last()!["value"]);

        var sheet = await study.Experts[0].GetOkAsync(T);
        Assert.Equal(6, sheet["answers"]!["importance"]!["value"]!.GetValue<double>());
        Assert.Null(sheet["answers"]!["feasibility"]);
        Assert.True(sheet["complete"]!.GetValue<bool>()); // feasibility is optional
        var consensus = await study.Coordinator.GetOkAsync($"{QuickStudy.S}/rounds/1/consensus");
        var importance = consensus["topics"]![0]!["questions"]!.AsArray().Single(q => q!["question"]!.GetValue<string>() == "importance")!;
        Assert.Equal(6, importance["summary"]!["median"]!.GetValue<double>());
    }

    [Fact]
    public async Task An_idempotency_key_replays_the_first_answer()
    {
        var study = await QuickStudy.CreateAsync(_app, experts: 1);
        async Task<HttpResponseMessage> Send(object body)
        {
            var request = new HttpRequestMessage(HttpMethod.Put, T) { Content = JsonContent.Create(body) };
            request.Headers.Add("Idempotency-Key", "save-1");
            return await study.Experts[0].SendAsync(request);
        }
        var first = await (await Send(QuickStudy.Answer(5))).Content.ReadAsStringAsync();
        await study.AnswerAsync(0, "Q-T01", new { answers = new { importance = 7 } });
        var replay = await Send(QuickStudy.Answer(5));
        Assert.Equal(HttpStatusCode.OK, replay.StatusCode);
        Assert.Equal(first, await replay.Content.ReadAsStringAsync());
        var sheet = await study.Experts[0].GetOkAsync(T);
        Assert.Equal(7, sheet["answers"]!["importance"]!["value"]!.GetValue<double>()); // the replay changed nothing
        await Api.ProblemAsync(await Send(QuickStudy.Answer(4)), HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task Not_familiar_skips_the_rest_of_the_topic()
    {
        var study = await QuickStudy.CreateAsync(_app, experts: 1);
        await study.AnswerAsync(0, "Q-T01", QuickStudy.Answer(5));
        var skipped = await study.AnswerAsync(0, "Q-T01", new { answers = new { familiarity = 1 } });
        Assert.Equal(["familiarity"], skipped["answers"]!.AsObject().Select(a => a.Key));
        Assert.True(skipped["complete"]!.GetValue<bool>());
        var refused = await Api.ProblemAsync(await study.Experts[0].PutAsJsonAsync(T, new { answers = new { importance = 3 } }), HttpStatusCode.BadRequest);
        Assert.Contains("Not familiar", refused["detail"]!.GetValue<string>());
        await study.AnswerAsync(0, "Q-T01", QuickStudy.Answer(4, familiarity: 4));

        var consensus = await study.Coordinator.GetOkAsync($"{QuickStudy.S}/rounds/1/consensus");
        Assert.Equal(0, consensus["topics"]![0]!["not_familiar"]!.GetValue<int>());
    }

    [Fact]
    public async Task Answers_follow_the_questions_rules()
    {
        var study = await QuickStudy.CreateAsync(_app, experts: 1, yaml: RulesSurvey);
        async Task<string> Refused(object answers, object? rationales = null)
        {
            var p = await Api.ProblemAsync(await study.Experts[0].PutAsJsonAsync(T, new { answers, rationales }), HttpStatusCode.BadRequest);
            return string.Join(" | ", p["errors"]!.AsArray().Select(e => e!.GetValue<string>()));
        }
        Assert.Contains("'gap' is asked only when 'level' is FOLLOW", await Refused(new { level = "PAR", gap = "G1" }));
        Assert.Contains("takes one of LEAD, PAR, FOLLOW", await Refused(new { level = "BEHIND" }));
        Assert.Contains("cannot be earlier than 'tech_year'", await Refused(new { tech_year = 2040, social_year = 2030 }));
        Assert.Contains("takes a year from 2025 to 2060", await Refused(new { tech_year = 2100 }));
        Assert.Contains("does not offer \"never\"", await Refused(new { importance = "never" }));
        Assert.Contains("'risk' needs a rationale", await Refused(new { risk = 4 }));
        Assert.Contains("takes a whole number from 1 to 5", await Refused(new { risk = 2.5 }));
        Assert.Contains("a rationale is given for 'importance', which has no answer", await Refused(new { risk = 4 }, new { risk = "x", importance = "y" }));

        var ok = await study.AnswerAsync(0, "Q-T01", new
        {
            answers = new Dictionary<string, object> { ["familiarity"] = 3, ["importance"] = "dont_know", ["level"] = "FOLLOW", ["gap"] = "G2",
                ["tech_year"] = 2030, ["social_year"] = "never", ["risk"] = 4 },
            rationales = new { risk = "Safety cases are not written yet." },
        });
        Assert.Equal("dont_know", ok["answers"]!["importance"]!["value"]!.GetValue<string>());
        Assert.Equal("G2", ok["answers"]!["gap"]!["value"]!.GetValue<string>());
        // Changing the condition clears the answer that depended on it.
        var cleared = await study.AnswerAsync(0, "Q-T01", new { answers = new { level = "LEAD" } });
        Assert.Null(cleared["answers"]!["gap"]);
        Assert.Contains("gap", cleared["changed"]!.AsArray().Select(c => c!.GetValue<string>()));

        var consensus = await study.Coordinator.GetOkAsync($"{QuickStudy.S}/rounds/1/consensus");
        var questions = consensus["topics"]![0]!["questions"]!.AsArray();
        Assert.Equal(1, questions.Single(q => q!["question"]!.GetValue<string>() == "importance")!["summary"]!["n_dont_know"]!.GetValue<int>());
        Assert.Equal(100.0, questions.Single(q => q!["question"]!.GetValue<string>() == "social_year")!["summary"]!["pct_never"]!.GetValue<double>());
    }

    [Fact]
    public async Task Bad_requests_get_clear_problems_and_change_nothing()
    {
        var study = await QuickStudy.CreateAsync(_app, experts: 1);
        var malformed = await Api.ProblemAsync(await study.Experts[0].PutAsync(T,
            new StringContent("{\"answers\": {\"importance\": ", Encoding.UTF8, "application/json")), HttpStatusCode.BadRequest);
        Assert.Contains("not the JSON this endpoint takes", malformed["detail"]!.GetValue<string>());
        var empty = await Api.ProblemAsync(await study.Experts[0].PutAsJsonAsync(T, new { }), HttpStatusCode.BadRequest);
        Assert.Contains("send answers", empty["detail"]!.GetValue<string>());
        var big = new string('x', 70_000);
        await Api.ProblemAsync(await study.Experts[0].PutAsJsonAsync(T, new { answers = new { comment = big } }), HttpStatusCode.RequestEntityTooLarge);
        var longText = await Api.ProblemAsync(await study.Experts[0].PutAsJsonAsync(T, new { answers = new { comment = new string('x', 600) } }),
            HttpStatusCode.BadRequest);
        Assert.Contains("at most 500 characters", longText["detail"]!.GetValue<string>());
        await Api.ProblemAsync(await study.Experts[0].PutAsJsonAsync($"{QuickStudy.S}/questionnaire/topics/NOPE", QuickStudy.Answer(5)),
            HttpStatusCode.NotFound);

        await using var c = new SqliteConnection($"Data Source={_app.DatabasePath}");
        Assert.Equal(0, await c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM answers"));
        Assert.Equal(0, await c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM answer_history"));
    }

    [Fact]
    public async Task Answers_stop_at_the_deadline()
    {
        var study = await QuickStudy.CreateAsync(_app, experts: 1);
        await study.AnswerAsync(0, "Q-T01", QuickStudy.Answer(5));
        var past = await Api.ProblemAsync(await study.Coordinator.PutAsJsonAsync($"{QuickStudy.S}/rounds/1/deadline",
            new { deadline = DateTimeOffset.UtcNow.AddDays(-1) }), HttpStatusCode.BadRequest);
        Assert.Contains("in the past", past["detail"]!.GetValue<string>());
        // The server reads the system clock for this check, and Hangfire runs the close by it: the test waits until
        // that clock has passed the deadline (a condition, not a sleep of a guessed length).
        var deadline = await study.DeadlineSoonAsync();
        await Wait.UntilAsync(() => DateTimeOffset.UtcNow > deadline, "the deadline to pass", pollMs: 20);
        // Refused from the deadline on, whether the round has closed itself yet or not.
        var late = await Api.ProblemAsync(await study.Experts[0].PutAsJsonAsync(T, QuickStudy.Answer(6)), HttpStatusCode.Conflict);
        Assert.Matches("deadline|No round is open", late["detail"]!.GetValue<string>());
        await Wait.UntilAsync(async () => (await study.Coordinator.GetOkAsync($"{QuickStudy.S}/rounds/1"))["status"]!.GetValue<string>() == "closed",
            "the round to close itself at its deadline", pollMs: 200);
        // The answer given before the deadline is the one that counts.
        var consensus = await study.Coordinator.GetOkAsync($"{QuickStudy.S}/rounds/1/consensus");
        var importance = consensus["topics"]![0]!["questions"]!.AsArray().Single(q => q!["question"]!.GetValue<string>() == "importance")!;
        Assert.Equal(5.0, importance["summary"]!["median"]!.GetValue<double>());
    }

    [Fact]
    public async Task Profile_and_ranking_answers_are_checked_and_stored()
    {
        var study = await QuickStudy.CreateAsync(_app, experts: 1);
        var profile = await study.Experts[0].PutOkAsync($"{QuickStudy.S}/questionnaire/profile", new { answers = new { org_type = "UNI", region = "ABROAD" } });
        Assert.Equal("ABROAD", profile["region"]!.GetValue<string>());
        await Api.ProblemAsync(await study.Experts[0].PutAsJsonAsync($"{QuickStudy.S}/questionnaire/profile", new { answers = new { org_type = "PIRATE" } }),
            HttpStatusCode.BadRequest);

        var order = new[] { "A-T02", "Q-T01", "A-T01", "Q-T03", "Q-T02", "A-T03" };
        await study.Experts[0].PutOkAsync($"{QuickStudy.S}/questionnaire/rankings/priority", new { order });
        var q = await study.Experts[0].GetOkAsync($"{QuickStudy.S}/questionnaire");
        Assert.Equal(order, q["rankings"]![0]!["your_order"]!.AsArray().Select(x => x!.GetValue<string>()));
        Assert.Equal("UNI", q["profile_answers"]!["org_type"]!.GetValue<string>());
        var dup = await Api.ProblemAsync(await study.Experts[0].PutAsJsonAsync($"{QuickStudy.S}/questionnaire/rankings/priority",
            new { order = new[] { "A-T02", "A-T02" } }), HttpStatusCode.BadRequest);
        Assert.Contains("twice", dup["detail"]!.GetValue<string>());
        await Api.ProblemAsync(await study.Experts[0].PutAsJsonAsync($"{QuickStudy.S}/questionnaire/rankings/priority", new { order = new[] { "Z-T09" } }),
            HttpStatusCode.BadRequest);
    }
}
