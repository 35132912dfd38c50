using Foresight.Core.Surveys;

namespace Foresight.Core.Tests.Surveys;

public class SurveyFileTests
{
    internal const string Minimal = """
        format: foresight/survey-v1
        id: mini
        title: {zh-CN: 小调查, en: Mini survey}
        languages: [zh-CN, en]
        questions:
          - id: importance
            kind: rating
            min: 1
            max: 5
            text: {zh-CN: 重要程度, en: Importance}
            agree: [4, 5]
        consensus:
          questions:
            importance: {iqr_max: 1, agree_min_pct: 70}
        fields:
          - code: F1
            name: {zh-CN: 领域一, en: Field one}
            topics:
              - code: F1-T01
                title: {zh-CN: 课题一, en: Topic one}
        """;

    static IReadOnlyList<SurveyFileError> Errors(string yaml)
    {
        var r = SurveyFile.Parse(yaml, "bad.yaml");
        Assert.False(r.Ok);
        Assert.Null(r.Survey);
        Assert.NotEmpty(r.Errors);
        return r.Errors;
    }

    static SurveyFileError Single(string yaml, string containing)
    {
        var errors = Errors(yaml);
        var e = errors.FirstOrDefault(e => e.Message.Contains(containing));
        Assert.True(e is not null, $"no error containing '{containing}' in: {string.Join(" | ", errors)}");
        return e!;
    }

    [Theory]
    [InlineData("surveys/national-tf-2045.yaml", 5, 33)]
    [InlineData("surveys/quick-start.yaml", 2, 6)]
    public void Shipped_surveys_are_valid(string path, int fields, int topics)
    {
        var r = SurveyFile.Parse(File.ReadAllText(path), path);
        Assert.True(r.Ok, string.Join("\n", r.Errors));
        Assert.Equal(fields, r.Survey!.Fields.Count);
        Assert.Equal(topics, r.Survey.Topics.Count());
        Assert.All(r.Survey.Topics, t => { Assert.False(string.IsNullOrEmpty(t.Title.Zh)); Assert.False(string.IsNullOrEmpty(t.Title.En)); });
        Assert.NotNull(r.Survey.Familiarity);
    }

    [Fact]
    public void National_survey_has_every_question_kind_and_its_rules()
    {
        var s = SurveyFile.Parse(File.ReadAllText("surveys/national-tf-2045.yaml")).Survey!;
        Assert.Equal([QuestionKind.Ordinal, QuestionKind.Year, QuestionKind.Choice, QuestionKind.MultiChoice, QuestionKind.Text],
            s.Questions.Select(q => q.Kind).Distinct().Order().ToArray());
        var rd = s.Question("rd_level")!;
        Assert.Equal(3, rd.OptionByCode("LEAD")!.Value);
        Assert.Equal([3.0, 4.0], s.Question("importance_economy")!.Agree);
        Assert.Equal(RationaleRule.OutsideIqr, s.Question("tech_year")!.Rationale);
        Assert.Equal("tech_year", s.Question("social_year")!.NotBefore);
        Assert.Equal("rd_level", s.Question("gap_years")!.When!.Question);
        Assert.Equal(["FOLLOW"], s.Question("gap_years")!.When!.In);
        Assert.Equal([1], s.Question("wording")!.Rounds);
        Assert.Equal(0.75, s.Familiarity!.OptionByCode("3")!.Weight);
        Assert.True(s.Familiarity.OptionByCode("1")!.SkipsTopic);
        Assert.Equal(RetireWhen.ConsensusOrStable, s.Consensus.RetireWhen);
        Assert.Equal(5, s.Consensus.Criteria.Count);
        Assert.Equal(ProfileRole.OrgType, s.Feedback.ByGroup);
        Assert.Equal("machine", s.Topics.Single(t => t.Code == "F5-T08").Origin);
    }

    [Fact]
    public void Quick_start_has_rating_rand_and_free_year()
    {
        var s = SurveyFile.Parse(File.ReadAllText("surveys/quick-start.yaml")).Survey!;
        Assert.True(s.Question("feasibility")!.IsRandUcla);
        Assert.Equal((1.0, 7.0), s.Question("importance")!.ScaleBounds);
        Assert.Equal(2060, s.Question("realization_year")!.Max);
        Assert.Equal(RankingScope.Survey, s.Rankings.Single().Scope);
    }

    [Fact]
    public void Minimal_survey_parses()
    {
        var r = SurveyFile.Parse(Minimal);
        Assert.True(r.Ok, string.Join("\n", r.Errors));
        Assert.Equal(5, r.Survey!.Consensus.MinN); // default
    }

    [Fact]
    public void Yaml_syntax_error_has_line_and_column()
    {
        var e = Errors("id: x\ntitle: {zh-CN: a, en: b\nfields: []\n").Single();
        Assert.Equal("bad.yaml", e.File);
        Assert.Equal((2, 8), (e.Line, e.Column));
        Assert.Contains("not valid YAML", e.Message);

        var tab = Errors("id: x\ntitle:\n\t- a\n").Single();
        Assert.Equal(3, tab.Line);
        Assert.Contains("not valid YAML", tab.Message);
    }

    [Fact]
    public void Missing_title_points_at_the_mapping()
    {
        var e = Single(Minimal.Replace("title: {zh-CN: 小调查, en: Mini survey}\n", ""), "missing 'title'");
        Assert.Equal(1, e.Line);
        Assert.Equal(1, e.Column);
    }

    [Fact]
    public void Unknown_key_is_reported_with_a_suggestion()
    {
        var e = Single(Minimal.Replace("    title: {zh-CN: 课题一, en: Topic one}", "    titel: {zh-CN: 课题一, en: Topic one}"), "unknown key 'titel'");
        Assert.Contains("did you mean 'title'", e.Message);
        Assert.Equal(20, e.Line);
        Assert.Equal(9, e.Column);
    }

    [Fact]
    public void Missing_language_is_reported_where_the_text_is()
    {
        var e = Single(Minimal.Replace("name: {zh-CN: 领域一, en: Field one}", "name: {en: Field one}"), "no Chinese (zh-CN) text");
        Assert.Equal(17, e.Line);
        Assert.Equal(11, e.Column);
    }

    [Fact]
    public void Agreement_outside_the_scale_is_rejected()
    {
        var e = Single(Minimal.Replace("agree: [4, 5]", "agree: [4, 6]"), "'6', which is not a point of its 1-5 scale");
        Assert.Equal(11, e.Line);
    }

    [Fact]
    public void Duplicate_topic_codes_are_rejected_across_fields()
    {
        var yaml = Minimal + """

              - code: F2
                name: {zh-CN: 领域二, en: Field two}
                topics:
                  - code: F1-T01
                    title: {zh-CN: 课题, en: Topic}
            """;
        var e = Single(yaml, "topic code 'F1-T01' is used twice");
        Assert.Contains("first at line 19", e.Message);
    }

    [Fact]
    public void Rule_on_a_text_question_is_rejected()
    {
        var yaml = Minimal.Replace("consensus:\n", "  - id: note\n    kind: text\n    text: {zh-CN: 留言, en: Note}\nconsensus:\n")
            .Replace("importance: {iqr_max: 1, agree_min_pct: 70}", "note: {iqr_max: 1}");
        Single(yaml, "only ordinal, rating and year questions are judged");
    }

    [Fact]
    public void Bad_values_each_get_a_sentence()
    {
        var yaml = Minimal
            .Replace("id: mini", "id: Mini Survey")
            .Replace("kind: rating", "kind: slider");
        var errors = Errors(yaml);
        Assert.Contains(errors, e => e.Message.Contains("survey id 'Mini Survey'") && e.Line == 2);
        Assert.Contains(errors, e => e.Message.Contains("kind of question 'importance' must be one of") && e.Line == 7);
        // A question that is wrong in itself is not reported again by everything that names it.
        Assert.Equal(3, errors.Count);
        Assert.Contains(errors, e => e.Message.Contains("only ordinal and rating questions take 'agree'"));

        var e = Single(Minimal.Replace("iqr_max: 1", "iqr_max: lots"), "'iqr_max' in the rule for 'importance' must be a number");
        Assert.Equal((14, 27), (e.Line, e.Column));
    }

    [Fact]
    public void Ordinal_options_need_numeric_values()
    {
        var yaml = Minimal.Replace("""
                kind: rating
                min: 1
                max: 5
            """, """
                kind: ordinal
                options:
                  - {code: HIGH, label: {zh-CN: 高, en: High}}
                  - {code: LOW, label: {zh-CN: 低, en: Low}}
            """).Replace("agree: [4, 5]", "agree: [HIGH]");
        Single(yaml, "option 'HIGH' of question 'importance' needs a numeric 'value'");
    }

    [Fact]
    public void Conditions_must_refer_to_earlier_questions()
    {
        var yaml = Minimal.Replace("    agree: [4, 5]", "    agree: [4, 5]\n    when: {question: later, in: [A]}");
        Single(yaml, "refers to question 'later', which is not defined before it");
    }

    [Fact]
    public void Empty_and_multi_document_files_are_rejected()
    {
        Assert.Contains("empty", Errors("").Single().Message);
        Assert.Contains("more than one YAML document", Errors(Minimal + "\n---\nid: other\n").Single().Message);
        Assert.Contains("must be a mapping", Errors("- just\n- a list\n").Single().Message);
    }

    [Fact]
    public void Rules_can_be_parsed_alone_for_a_new_version()
    {
        var survey = SurveyFile.Parse(Minimal).Survey!;
        var ok = SurveyFile.ParseRules("questions:\n  importance: {iqr_max: 0.5}\nstop: {max_rounds: 4}\n", survey);
        Assert.True(ok.Ok, string.Join("\n", ok.Errors));
        Assert.Equal(0.5, ok.Rules!.Criteria.Single().IqrMax);
        Assert.Equal(4, ok.Rules.MaxRounds);
        var bad = SurveyFile.ParseRules("questions:\n  speed: {iqr_max: 1}\n", survey, "rules.yaml");
        Assert.Equal("rules.yaml:2:3: the consensus rules name question 'speed', which the survey does not have", bad.Errors.Single().ToString());
    }
}
