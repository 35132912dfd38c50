using System.Text.Json;
using System.Text.Json.Nodes;
using Foresight.Core.Answers;
using Foresight.Core.Surveys;

namespace Foresight.Core.Tests.Answers;

/// <summary>
/// The rules between a topic's answers live in <see cref="AnswerRules"/>: the API's check (<see cref="TopicAnswers"/>)
/// applies them, and the page's script reads them as JSON. For each case of a table, what the rules ask, what the
/// check accepts or clears, and what the JSON says must agree.
/// </summary>
public class AnswerRulesTests
{
    internal const string Yaml = """
        format: foresight/survey-v1
        id: rules
        title: {zh-CN: 规则, en: Rules}
        languages: [zh-CN, en]
        questions:
          - id: familiarity
            kind: ordinal
            role: familiarity
            text: {zh-CN: 熟悉程度, en: Familiarity}
            options:
              - {code: 4, label: {zh-CN: 很熟悉, en: Very familiar}, weight: 1}
              - {code: 1, label: {zh-CN: 不熟悉, en: Not familiar}, weight: 0, skips_topic: true}
          - id: importance
            kind: rating
            min: 1
            max: 7
            rationale: outside_iqr
            text: {zh-CN: 重要程度, en: Importance}
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
          - id: catch_up
            kind: year
            min: 2025
            max: 2060
            text: {zh-CN: 追上年份, en: Year of catching up}
            when: {question: gap, in: [G2]}
          - id: risk
            kind: rating
            min: 1
            max: 5
            allow_dont_know: true
            rationale: always
            text: {zh-CN: 风险, en: Risk}
          - id: constraints
            kind: multi_choice
            max_selections: 2
            text: {zh-CN: 制约因素, en: Constraints}
            options:
              - {code: C01, label: {zh-CN: 一, en: One}}
              - {code: C02, label: {zh-CN: 二, en: Two}}
              - {code: C03, label: {zh-CN: 三, en: Three}}
        consensus:
          questions:
            importance: {iqr_max: 1}
        fields:
          - code: F
            name: {zh-CN: 领域, en: Field}
            topics:
              - {code: F-T01, title: {zh-CN: 课题, en: Topic}}
        """;

    static readonly SurveyDefinition Survey = SurveyFile.Parse(Yaml).Survey!;
    static readonly PreviousQuartiles? Iqr = new PreviousQuartiles(4, 6);
    static AnswerRules Rules => AnswerRules.For(Survey, 2, q => q == "importance" ? Iqr : null);

    static readonly string[] Others = ["importance", "level", "gap", "catch_up", "risk", "constraints"];

    /// <summary>Answers (question → canonical text) and the questions the rules then do not ask, with the reason.</summary>
    public static TheoryData<string, string, string> Cases => new()
    {
        { "nothing answered", "", "gap:Condition catch_up:Condition" },
        { "following", "level=FOLLOW", "catch_up:Condition" },
        { "following far behind", "level=FOLLOW gap=G2 catch_up=2040", "" },
        { "on par, a gap left from before", "level=PAR gap=G2 catch_up=2040", "gap:Condition catch_up:Condition" },
        { "following, the nearer gap", "level=FOLLOW gap=G1 catch_up=2040", "catch_up:Condition" },
        { "very familiar", "familiarity=4 level=FOLLOW gap=G2", "" },
        { "very familiar, nearer", "familiarity=4 level=FOLLOW gap=G1", "catch_up:Condition" },
        { "not familiar", "familiarity=1 importance=5 level=FOLLOW gap=G2 catch_up=2040 risk=3", string.Join(' ', Others.Select(o => o + ":Skipped")) },
    };

    static Dictionary<string, string> Parse(string answers) =>
        answers.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(a => a.Split('=')).ToDictionary(a => a[0], a => a[1]);

    static Dictionary<string, string> Expected(string notAsked) =>
        notAsked.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(a => a.Split(':')).ToDictionary(a => a[0], a => a[1]);

    static JsonElement Json(Question q, string text) =>
        q.Kind is QuestionKind.Rating or QuestionKind.Year && int.TryParse(text, out var n) ? JsonSerializer.SerializeToElement(n)
        : q.Kind == QuestionKind.MultiChoice ? JsonSerializer.SerializeToElement(text.Split(';'))
        : JsonSerializer.SerializeToElement(text);

    static Dictionary<string, QuestionAnswer> Stored(Dictionary<string, string> answers) =>
        answers.ToDictionary(a => a.Key, a =>
        {
            var q = Survey.Question(a.Key)!;
            return new QuestionAnswer(AnswerValue.Parse(q, Json(q, a.Value)).Value!, a.Key is "risk" or "importance" ? "why" : null);
        });

    [Theory]
    [MemberData(nameof(Cases))]
    public void The_rules_the_check_and_the_script_data_agree_on_what_is_asked(string name, string answers, string notAsked)
    {
        var given = Parse(answers);
        var expected = Expected(notAsked);

        // The rules.
        var rules = Rules.NotAsked(q => given.GetValueOrDefault(q));
        Assert.Equal(expected.OrderBy(e => e.Key), rules.Select(r => KeyValuePair.Create(r.Key, r.Value.Kind.ToString())).OrderBy(e => e.Key));

        // The check: sent as they are, the answers to questions not asked are refused, each for its reason ...
        var sent = given.ToDictionary(a => a.Key, a => Json(Survey.Question(a.Key)!, a.Value));
        var why = given.Where(a => a.Key is "risk" or "importance").ToDictionary(a => a.Key, a => (string?)"why");
        var outcome = TopicAnswers.Apply(Rules, new Dictionary<string, QuestionAnswer>(), sent, why);
        var refused = expected.Where(e => given.ContainsKey(e.Key)).ToDictionary(e => e.Key, e => e.Value);
        Assert.Equal(refused.OrderBy(e => e.Key), outcome.Errors.Select(e => KeyValuePair.Create(e.Question!, e.Kind.ToString())).OrderBy(e => e.Key));
        // ... and stored before, they are cleared by the next save, whatever it sends.
        var cleared = TopicAnswers.Apply(Rules, Stored(given), new Dictionary<string, JsonElement>(), new Dictionary<string, string?>());
        Assert.True(cleared.Ok, name);
        Assert.Equal(given.Keys.Except(expected.Keys).Order(), cleared.Answers.Keys.Order());

        // The script's data, read as questionnaire.js reads it.
        Assert.Equal(expected.Keys.Order(), ScriptNotAsked(JsonNode.Parse(Rules.ToJson())!, given).Order());
    }

    /// <summary>The reading of <see cref="AnswerRules.ToJson"/> that questionnaire.js does (notAsked).</summary>
    static HashSet<string> ScriptNotAsked(JsonNode rules, Dictionary<string, string> answers)
    {
        var result = new HashSet<string>();
        foreach (var q in rules["questions"]!.AsArray())
            foreach (var c in q!["asked_when"]!.AsArray())
            {
                var question = c!["question"]!.GetValue<string>();
                var code = result.Contains(question) ? null : answers.GetValueOrDefault(question);
                var negated = c["not_in"] is not null;
                var among = code is not null && (c["in"] ?? c["not_in"])!.AsArray().Any(x => x!.GetValue<string>() == code);
                if (among == negated) { result.Add(q["id"]!.GetValue<string>()); break; }
            }
        return result;
    }

    static JsonNode Question(string id) =>
        JsonNode.Parse(Rules.ToJson())!["questions"]!.AsArray().Single(q => q!["id"]!.GetValue<string>() == id)!;

    [Fact]
    public void An_answer_outside_the_previous_quartiles_needs_a_rationale_in_the_check_and_in_the_script_data()
    {
        var listed = Question("importance")["rationale"]!["for"]!.AsArray().Select(x => x!.GetValue<string>()).ToList();
        Assert.Equal(["1", "2", "3", "7"], listed);
        for (int v = 1; v <= 7; v++)
        {
            var outcome = TopicAnswers.Apply(Rules, new Dictionary<string, QuestionAnswer>(),
                new Dictionary<string, JsonElement> { ["importance"] = JsonSerializer.SerializeToElement(v) }, new Dictionary<string, string?>());
            Assert.Equal(listed.Contains(v.ToString()), outcome.Errors.Any(e => e.Kind == AnswerErrorKind.RationaleNeeded));
        }
        // Without quartiles of the previous round (round 1), no answer needs one.
        Assert.Null(JsonNode.Parse(AnswerRules.For(Survey, 1).ToJson())!["questions"]!.AsArray()
            .Single(q => q!["id"]!.GetValue<string>() == "importance")!["rationale"]);
    }

    [Fact]
    public void A_rationale_always_needed_is_not_needed_for_dont_know()
    {
        var rule = Question("risk")["rationale"]!;
        Assert.Null(rule["for"]);
        Assert.Equal([AnswerValue.DontKnowText, AnswerValue.NeverText], rule["except"]!.AsArray().Select(x => x!.GetValue<string>()));
        TopicAnswers.Outcome Send(object value) => TopicAnswers.Apply(Rules, new Dictionary<string, QuestionAnswer>(),
            new Dictionary<string, JsonElement> { ["risk"] = JsonSerializer.SerializeToElement(value) }, new Dictionary<string, string?>());
        Assert.True(Send("dont_know").Ok);
        Assert.Equal(AnswerErrorKind.RationaleNeeded, Send(3).Errors.Single().Kind);
    }

    [Fact]
    public void A_multi_choice_takes_as_many_options_as_the_script_data_says()
    {
        Assert.Equal(2, Question("constraints")["max_selections"]!.GetValue<int>());
        TopicAnswers.Outcome Send(params string[] codes) => TopicAnswers.Apply(Rules, new Dictionary<string, QuestionAnswer>(),
            new Dictionary<string, JsonElement> { ["constraints"] = JsonSerializer.SerializeToElement(codes) }, new Dictionary<string, string?>());
        Assert.True(Send("C01", "C03").Ok);
        Assert.Contains("at most 2 options", Send("C01", "C02", "C03").Errors.Single().Message);
    }

    [Fact]
    public void The_script_data_holds_no_markup()
    {
        // A survey file allows no such code; a definition made otherwise still puts no markup into the page.
        const string Sly = "</script><b>";
        var survey = Survey with
        {
            Questions = Survey.Questions.Select(q => q.Id == "catch_up" ? q with { When = new Condition("gap", [Sly]) } : q).ToList(),
        };
        var json = AnswerRules.For(survey, 1).ToJson();
        Assert.DoesNotContain("<", json);
        var clause = JsonNode.Parse(json)!["questions"]!.AsArray().Single(q => q!["id"]!.GetValue<string>() == "catch_up")!["asked_when"]![1]!;
        Assert.Equal(Sly, clause["in"]![0]!.GetValue<string>());
    }

    [Fact]
    public void Completeness_follows_the_same_rules()
    {
        var required = Survey with { Questions = Survey.Questions.Select(q => q.Id is "gap" or "risk" ? q with { Required = true } : q).ToList() };
        bool Complete(string answers) => TopicAnswers.IsComplete(required, 1, Stored(Parse(answers)));
        Assert.False(Complete("familiarity=4 level=FOLLOW risk=2"));       // the gap is asked and required
        Assert.True(Complete("familiarity=4 level=PAR risk=2"));           // the gap is not asked
        Assert.True(Complete("familiarity=4 level=FOLLOW gap=G1 risk=2"));
        Assert.False(Complete("familiarity=4 level=FOLLOW gap=G1"));       // the risk is required
        Assert.True(Complete("familiarity=1"));                            // not familiar: done
    }
}

/// <summary>The one rule for "the round is open for this expert now".</summary>
public class AnswerWindowTests
{
    static readonly DateTimeOffset Now = new(2030, 5, 1, 12, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData(null, true, null, true, false, "NoRound")]
    [InlineData(1, false, null, true, false, "RoundClosed")]
    [InlineData(1, true, -1.0, true, false, "DeadlinePassed")]
    [InlineData(1, true, 0.0, true, false, "DeadlinePassed")]   // the deadline itself is too late
    [InlineData(1, true, 1.0, true, false, null)]
    [InlineData(1, true, null, true, false, null)]
    [InlineData(1, true, null, true, true, "Revoked")]
    [InlineData(1, true, 60.0, false, false, "NotOnRound")]
    [InlineData(2, false, -1.0, false, true, "RoundClosed")]     // the round's state first
    public void Answers_are_taken_while_the_round_is_open_before_its_deadline_from_an_expert_on_its_panel(
        int? round, bool open, double? deadlineInSeconds, bool onRound, bool revoked, string? closed)
    {
        var deadline = deadlineInSeconds is { } s ? Now.AddSeconds(s) : (DateTimeOffset?)null;
        var window = AnswerWindow.Check(round, open, deadline, onRound, revoked, Now);
        Assert.Equal(closed, window.Closed?.ToString());
        Assert.Equal(closed is null, window.Open);
        Assert.Equal(closed is null, window.Message is null);
    }

    [Fact]
    public void A_stored_deadline_is_read_as_UTC()
    {
        Assert.Equal(new DateTimeOffset(2030, 5, 1, 12, 0, 0, 500, TimeSpan.Zero), AnswerWindow.ParseDeadline("2030-05-01T12:00:00.500Z"));
        var window = AnswerWindow.Check(3, true, AnswerWindow.ParseDeadline("2030-05-01T11:59:59.000Z"), true, false, Now);
        Assert.Equal("The deadline of round 3 (2030-05-01T11:59:59.000Z) has passed; answers are no longer taken.", window.Message);
    }
}
