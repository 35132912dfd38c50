using System.Text;
using Foresight.Core.Consensus;
using Foresight.Core.Surveys;

namespace Foresight.Reports.Tests;

/// <summary>Report models of synthetic studies: a survey, answers made up by rule, the consensus of each round.</summary>
public static class Studies
{
    /// <summary>The quick-start survey answered by 8 experts over two rounds; A-T03 splits into two camps.</summary>
    public static ReportModel QuickStart(string language, string kind = "round")
    {
        var survey = SurveyFile.Parse(File.ReadAllText("surveys/quick-start.yaml")).Survey!;
        var experts = Enumerable.Range(1, 8).Select(i => $"E{i:00}").ToList();
        List<AnswerRow> Round(int round) => survey.Topics.SelectMany(t => experts.SelectMany((e, i) => new[]
        {
            new AnswerRow(e, t.Code, "familiarity", i % 3 == 0 ? "4" : "3", i % 3 == 0 ? 4 : 3),
            new AnswerRow(e, t.Code, "importance", Imp(t.Code, i, round).ToString(), Imp(t.Code, i, round),
                i == 2 && round == 2 ? "Pilot plants already run at scale." : null),
            new AnswerRow(e, t.Code, "feasibility", (6 + i % 3).ToString(), 6 + i % 3),
            new AnswerRow(e, t.Code, "realization_year", (2030 + 5 * (i % 3)).ToString(), 2030 + 5 * (i % 3)),
            new AnswerRow(e, t.Code, "constraints", i % 2 == 0 ? "C01;C04" : "C02", null),
        }.Concat(i == 0 ? [new AnswerRow(e, t.Code, "comment", $"评论 comment on {t.Code}", null)] : []))).ToList();
        var topics = survey.Fields.SelectMany(f => f.Topics.Select(t => new RoundTopic(t.Code, f.Code, t.Code))).ToList();
        var r1 = RoundConsensus.Compute(survey, survey.Consensus, 1, topics.Select(t => t with { PreviousCode = null }).ToList(), Round(1), null);
        var r2 = RoundConsensus.Compute(survey, survey.Consensus, 2, topics, Round(2), Round(1));
        return Model(survey, kind, language, [(1, r1), (2, r2)], Round(2));
    }

    static int Imp(string topic, int expert, int round) => topic switch
    {
        "A-T03" => expert % 2 == 0 ? 1 : 7,                 // two camps
        "Q-T01" => 6 + (expert % 2),                        // consensus
        _ => round == 1 ? 2 + expert % 6 : 4 + expert % 3,  // converging
    };

    /// <summary>A national-scale survey with the given number of topics (16 fields) and its first round.</summary>
    public static ReportModel Generated(int topicCount, string language)
    {
        var yaml = new StringBuilder(File.ReadAllText("surveys/national-tf-2045.yaml"));
        var text = yaml.ToString();
        text = text[..text.IndexOf("\nfields:", StringComparison.Ordinal)] + "\nfields:\n";
        var sb = new StringBuilder(text);
        for (int f = 1; f <= 16; f++)
        {
            sb.Append($"  - code: G{f:00}\n    name: {{zh-CN: 领域{f}, en: Field {f}}}\n    topics:\n");
            for (int t = f - 1; t < topicCount; t += 16)
                sb.Append($"      - {{code: G{f:00}-T{t:000}, title: {{zh-CN: \"生成课题{t}：新型技术在关键行业实现规模化应用\", en: \"Generated topic {t}: a new technology is " +
                    $"deployed at scale in key sectors\"}}}}\n");
        }
        var survey = SurveyFile.Parse(sb.ToString()).Survey ?? throw new InvalidOperationException(string.Join("\n", SurveyFile.Parse(sb.ToString()).Errors));
        var random = new Random(7);
        var rows = new List<AnswerRow>();
        var topics = survey.Fields.SelectMany(f => f.Topics.Select(t => new RoundTopic(t.Code, f.Code, null))).ToList();
        foreach (var t in topics)
            for (int e = 0; e < 12; e++)
            {
                var m = $"E{(t.Code.GetHashCode() & 0xffff) % 5000 + e}";
                rows.Add(new AnswerRow(m, t.Code, "familiarity", "3", 3));
                foreach (var q in new[] { "importance_economy", "importance_wellbeing", "importance_security" })
                {
                    int v = 1 + random.Next(4);
                    rows.Add(new AnswerRow(m, t.Code, q, v.ToString(), v, e == 0 ? "Evidence from pilot deployments." : null));
                }
                var period = survey.Question("tech_year")!.Options[random.Next(5)];
                rows.Add(new AnswerRow(m, t.Code, "tech_year", period.Code, period.Value));
                rows.Add(new AnswerRow(m, t.Code, "rd_level", "PAR", 2));
                rows.Add(new AnswerRow(m, t.Code, "constraints", "C01;C04;C09", null));
                rows.Add(new AnswerRow(m, t.Code, "policy_measures", "M02", null));
            }
        var r1 = RoundConsensus.Compute(survey, survey.Consensus, 1, topics, rows, null);
        return Model(survey, "round", language, [(1, r1)], rows);
    }

    static ReportModel Model(SurveyDefinition survey, string kind, string language, List<(int Number, RoundResult Result)> rounds, List<AnswerRow> lastAnswers)
    {
        var last = rounds[^1];
        var fields = survey.Fields.Select(f => new ReportField(f.Code, f.Name, f.Topics.Select(t =>
        {
            var result = last.Result.Topics.Single(r => r.Topic == t.Code);
            var rationales = survey.Questions.ToDictionary(q => q.Id, q => (IReadOnlyList<string>)lastAnswers
                .Where(a => a.Topic == t.Code && a.Question == q.Id)
                .Select(a => q.Kind == QuestionKind.Text ? a.Value : a.Rationale).Where(x => x is not null).Select(x => x!).ToList());
            return new ReportTopic(t.Code, f.Code, t.Title, t.Background, t.Origin, t.Tags, result,
                rounds.Select(r => (r.Number, (TopicResult?)r.Result.Topics.Single(x => x.Topic == t.Code))).ToList(),
                result.Settled ? "retire" : "carry", rationales.Where(kv => kv.Value.Count > 0).ToDictionary());
        }).ToList())).ToList();
        var opened = new DateTimeOffset(2026, 3, 1, 8, 0, 0, TimeSpan.Zero);
        var model = new ReportModel
        {
            Kind = kind,
            Language = language,
            Survey = survey,
            Round = last.Number,
            Rounds = rounds.Select(r => new RoundFacts(r.Number, opened.AddDays(30 * (r.Number - 1)), opened.AddDays(30 * r.Number - 2), 1,
                r.Result.Topics.Count, 8, 8, 7, r.Number > 1 ? 0 : null, r.Result.Topics.Count(t => t.Settled), new string('a', 64))).ToList(),
            Panel = new PanelComposition(8, [new GroupCount("UNI", survey.Profile[0].Options.FirstOrDefault(o => o.Code == "UNI")?.Label, 6),
                new GroupCount("ENT", survey.Profile[0].Options.FirstOrDefault(o => o.Code == "ENT")?.Label, 2)],
                [new GroupCount("CN_EAST", null, 8)]),
            DeclaredRules = survey.Consensus,
            DeclaredRulesVersion = 1,
            RoundRules = survey.Consensus,
            RoundRulesVersion = 1,
            Fields = fields,
            Ranking = [],
            DataHash = "0123456789abcdef".PadRight(64, '0'),
            DataVersion = "",
            GeneratedAt = new DateTimeOffset(2026, 5, 1, 10, 0, 0, TimeSpan.Zero),
        };
        return model with { DataVersion = new string('f', 64) };
    }
}
