using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Foresight.Cli;

namespace Foresight.Server.Tests;

/// <summary>
/// A whole two-round Delphi study through the API, as a coordinator and 20 experts run it: import the national
/// survey, add experts by CSV, build the panel, open round 1, answer, close, open round 2 with the carried topics,
/// check the feedback, answer, close, select key technologies, export, and read the export back with `foresight stats`.
/// </summary>
public sealed class StudyTests : IDisposable
{
    readonly ForesightFactory _app = new();

    public void Dispose() => _app.Dispose();

    /// <summary>Topic design by its position g in the survey: 0 consensus, 1 spread, 2 two camps.</summary>
    static int Design(int g) => g % 3;

    static Dictionary<string, object?> Round1Answers(int e, int g)
    {
        int importance = Design(g) switch
        {
            0 => e == 7 ? 3 : 4,
            1 => 1 + e % 4,
            _ => e % 2 == 0 ? 1 : 4,
        };
        var answers = new Dictionary<string, object?>
        {
            ["familiarity"] = e % 2 == 0 ? 4 : 3,
            ["importance_economy"] = importance,
            ["importance_wellbeing"] = importance,
            ["importance_security"] = importance,
            ["tech_year"] = Design(g) == 0 ? "T2" : new[] { "T1", "T2", "T3", "T4" }[e % 4],
            ["social_year"] = Design(g) == 0 ? "T3" : new[] { "T2", "T3", "T4", "T5" }[e % 4],
            ["rd_level"] = e % 3 == 0 ? "FOLLOW" : "PAR",
            ["leading_country"] = new[] { "US", "CN" },
            ["constraints"] = new[] { "C01", "C04" },
            ["policy_measures"] = new[] { "M02" },
            ["wording"] = "AGREE",
        };
        if (e % 3 == 0) answers["gap_years"] = "G2";
        if (e % 5 == 0) answers["comment"] = $"Comment of expert {e} on topic {g}.";
        return answers;
    }

    [Fact]
    public async Task Two_round_study_runs_end_to_end()
    {
        var coordinator = await _app.NewCoordinatorAsync();

        // 1. Import the national survey.
        var imported = await Api.OkAsync(await coordinator.PostYamlAsync("/api/surveys", Api.Survey("national-tf-2045.yaml"), "national-tf-2045.yaml"));
        Assert.Equal("national-tf-2045", imported["slug"]!.GetValue<string>());
        Assert.Equal(5, imported["fields"]!.AsArray().Count);
        var topicOrder = imported["fields"]!.AsArray().SelectMany(f => f!["topics"]!.AsArray()).Select(t => t!["code"]!.GetValue<string>()).ToList();
        Assert.Equal(33, topicOrder.Count);
        const string S = "/api/surveys/national-tf-2045";

        // 2. Twenty experts by CSV; each names two fields as expertise.
        var csv = new StringBuilder("name,email,organisation,org_type,region,expertise,language\n");
        for (int e = 0; e < 20; e++)
            csv.Append($"Expert {e},expert{e}@test.local,Org " +
                $"{e % 4},{new[] { "UNI", "INST", "ENT_LEAD", "GOV_C" }[e % 4]},{new[] { "JJJ", "YRD" }[e % 2]}," +
                $"F{e % 5 + 1};F{(e + 1) % 5 + 1},{(e % 2 == 0 ? "zh-CN" : "en")}\n");
        var importedExperts = await Api.OkAsync(await coordinator.PostAsync("/api/experts/import",
            new StringContent(csv.ToString(), Encoding.UTF8, "text/csv")));
        Assert.Equal(20, importedExperts["added"]!.GetValue<int>());
        var expertIds = importedExperts["experts"]!.AsArray().Select(x => x!["id"]!.GetValue<long>()).ToList();

        // 3. The panel: fields come from each expert's expertise; each gets a link with a secret.
        var invitations = (await Api.OkAsync(await coordinator.PostAsJsonAsync($"{S}/panel",
            new { members = expertIds.Select(id => new { expert_id = id }) }))).AsArray();
        Assert.Equal(20, invitations.Count);
        Assert.All(invitations, i => Assert.Equal(2, i!["fields"]!.AsArray().Count));
        Assert.All(invitations, i => Assert.StartsWith("http://foresight.test/x/", i!["link"]!.GetValue<string>()));
        var experts = invitations.Select(i => _app.WithToken(i!["secret"]!.GetValue<string>())).ToList();
        var pseudonyms = invitations.Select(i => i!["pseudonym"]!.GetValue<string>()).ToList();

        // 4. Round 1 opens with all 33 topics and the rules declared in the file (version 1).
        var round1 = await Api.OkAsync(await coordinator.PostAsJsonAsync($"{S}/rounds", new { deadline = DateTimeOffset.UtcNow.AddDays(14) }));
        Assert.Equal(33, round1["topics"]!.GetValue<int>());
        Assert.Equal(1, round1["rules_version"]!.GetValue<int>());
        Assert.Equal(20, round1["participation"]!["invited"]!.GetValue<int>());

        // 5. Every expert answers the topics of their two fields.
        for (int e = 0; e < 20; e++)
        {
            var q = await experts[e].GetOkAsync($"{S}/questionnaire");
            Assert.Equal(1, q["round"]!["number"]!.GetValue<int>());
            var mine = q["fields"]!.AsArray().SelectMany(f => f!["topics"]!.AsArray()).Select(t => t!["code"]!.GetValue<string>()).ToList();
            Assert.True(mine.Count is >= 12 and <= 16, $"expert {e} has {mine.Count} topics");
            foreach (var code in mine)
            {
                var answers = e == 19 && code == mine[0]
                    ? new Dictionary<string, object?> { ["familiarity"] = 1 }   // "not familiar" skips the topic
                    : Round1Answers(e, topicOrder.IndexOf(code));
                var saved = await experts[e].PutOkAsync($"{S}/questionnaire/topics/{code}", new { answers });
                Assert.True(saved["complete"]!.GetValue<bool>());
            }
            var done = await experts[e].GetOkAsync($"{S}/questionnaire");
            Assert.Equal(mine.Count, done["progress"]!["complete"]!.GetValue<int>());
        }

        var live = await coordinator.GetOkAsync($"{S}/rounds/1");
        Assert.Equal(20, live["participation"]!["responded"]!.GetValue<int>());
        Assert.Equal(20, live["participation"]!["finished"]!.GetValue<int>());
        Assert.Equal(100.0, live["participation"]!["response_rate"]!.GetValue<double>());

        // 6. Close round 1: consensus per topic under the rules; consensus topics retire, the others are carried.
        var closed1 = await Api.OkAsync(await coordinator.PostAsync($"{S}/rounds/1/close", null));
        Assert.Matches("^[0-9a-f]{64}$", closed1["data_hash"]!.GetValue<string>());
        var topics1 = closed1["topics"]!.AsArray().ToDictionary(t => t!["code"]!.GetValue<string>(), t => t!);
        Assert.Equal(33, topics1.Count);
        foreach (var (code, t) in topics1)
        {
            int g = topicOrder.IndexOf(code);
            var expected = Design(g) switch { 0 => "consensus", 1 => "no_consensus", _ => "dissensus" };
            Assert.True(expected == t["state"]!.GetValue<string>(), $"{code} (design {Design(g)}): {t["state"]}");
            Assert.Equal(Design(g) == 0 ? "retire" : "carry", t["decision"]!.GetValue<string>());
            Assert.Equal(8, t["respondents"]!.GetValue<int>());
        }
        // The figures of one consensus topic, by hand: 8 experts, one of them (expert 7) answered 3, the others 4.
        var consensusTopic = topicOrder.First(c => Design(topicOrder.IndexOf(c)) == 0 && topics1[c]["questions"]!.AsArray().Any());
        var economy = topics1[consensusTopic]["questions"]!.AsArray().Single(q => q!["question"]!.GetValue<string>() == "importance_economy")!["summary"]!;
        Assert.Equal(4.0, economy["median"]!.GetValue<double>());
        Assert.Equal(100.0, economy["pct_agree"]!.GetValue<double>());
        Assert.Equal(0.0, economy["iqr"]!.GetValue<double>());
        var polarized = topics1.First(t => Design(topicOrder.IndexOf(t.Key)) == 2).Value;
        Assert.True(polarized["polarized"]!.GetValue<bool>());
        var notFamiliar = topics1.Values.Sum(t => t["not_familiar"]!.GetValue<int>());
        Assert.Equal(1, notFamiliar);
        Assert.False(closed1["stop_recommended"]!.GetValue<bool>());

        var carried = topicOrder.Where(c => Design(topicOrder.IndexOf(c)) != 0).ToList();
        var retired = topicOrder.Except(carried).ToList();

        // Answers are no longer taken in a closed round.
        await Api.ProblemAsync(await experts[0].PutAsJsonAsync($"{S}/questionnaire/topics/{topicOrder[1]}",
            new { answers = new { importance_economy = 2 } }), HttpStatusCode.Conflict);

        // 7. Round 2 carries the topics that did not meet the stop rule.
        var round2 = await Api.OkAsync(await coordinator.PostAsJsonAsync($"{S}/rounds", new { }));
        Assert.Equal(carried.Count, round2["topics"]!.GetValue<int>());

        int e0 = 1; // an expert with comments off and rd FOLLOW off
        var q2 = await experts[e0].GetOkAsync($"{S}/questionnaire");
        var mine2 = q2["fields"]!.AsArray().SelectMany(f => f!["topics"]!.AsArray()).Select(t => t!["code"]!.GetValue<string>()).ToList();
        Assert.All(mine2, code => Assert.Contains(code, carried));
        Assert.DoesNotContain(q2["questions"]!.AsArray(), q => q!["id"]!.GetValue<string>() == "wording"); // round-1-only question
        Assert.Contains(q2["rankings"]!.AsArray(), r => r!["id"]!.GetValue<string>() == "priority");

        // 8. Feedback: the group's median, quartiles, distribution and n from round 1, the expert's own answer, rationales.
        var spreadTopic = mine2.First(c => Design(topicOrder.IndexOf(c)) == 1);
        var sheet = await experts[e0].GetOkAsync($"{S}/questionnaire/topics/{spreadTopic}");
        var source = sheet["feedback"]!["sources"]!.AsArray().Single()!;
        Assert.Equal("same", source["relation"]!.GetValue<string>());
        Assert.Equal(1, sheet["feedback"]!["round"]!.GetValue<int>());
        var fb = source["questions"]!.AsArray().Single(q => q!["question"]!.GetValue<string>() == "importance_economy")!;
        var spreadValues = Enumerable.Range(0, 20).Where(e => FieldsOf(e).Contains(FieldOf(spreadTopic))
            && !(e == 19 && IsFirstTopicOf(e, spreadTopic, topicOrder)))
            .Select(e => 1.0 + e % 4).Order().ToArray();
        Assert.Equal(spreadValues.Length, fb["n"]!.GetValue<int>());
        Assert.Equal(Core.Statistics.Quantile.Type7(spreadValues, 0.5), fb["median"]!.GetValue<double>());
        Assert.Equal(Core.Statistics.Quantile.Type7(spreadValues, 0.25), fb["q1"]!.GetValue<double>());
        Assert.Equal(Core.Statistics.Quantile.Type7(spreadValues, 0.75), fb["q3"]!.GetValue<double>());
        Assert.Equal(4, fb["distribution"]!.AsArray().Count);
        Assert.Equal(spreadValues.Length, fb["distribution"]!.AsArray().Sum(d => d!["count"]!.GetValue<int>()));
        Assert.Equal(1 + e0 % 4, fb["your_answer"]!["value"]!.GetValue<double>());
        var comments = source["questions"]!.AsArray().Single(q => q!["question"]!.GetValue<string>() == "comment")!["rationales"]!.AsArray();
        Assert.NotEmpty(comments);
        Assert.All(comments, c => Assert.DoesNotContain("expert0@", c!.GetValue<string>()));

        // An answer outside last round's interquartile range needs a rationale.
        double q3 = fb["q3"]!.GetValue<double>();
        int outside = q3 < 4 ? 4 : 1;
        var refused = await Api.ProblemAsync(await experts[e0].PutAsJsonAsync($"{S}/questionnaire/topics/{spreadTopic}",
            new { answers = new { importance_economy = outside } }), HttpStatusCode.BadRequest);
        Assert.Contains("needs a rationale", refused["detail"]!.GetValue<string>());
        await experts[e0].PutOkAsync($"{S}/questionnaire/topics/{spreadTopic}",
            new { answers = new { importance_economy = outside }, rationales = new { importance_economy = "Recent results change the picture." } });

        // 9. Round 2 answers: most experts keep their answers; on spread topics they move toward the median.
        for (int e = 0; e < 20; e++)
        {
            var q = await experts[e].GetOkAsync($"{S}/questionnaire");
            foreach (var field in q["rankings"]!.AsArray())
            {
                var codes = field!["topics"]!.AsArray().Select(t => t!.GetValue<string>()).ToList();
                // Most experts keep the list order; every third one swaps the first two topics.
                if (e % 3 == 0) (codes[0], codes[1]) = (codes[1], codes[0]);
                await experts[e].PutOkAsync($"{S}/questionnaire/rankings/priority", new { field = field["field"]!.GetValue<string>(), order = codes });
            }
            foreach (var code in q["fields"]!.AsArray().SelectMany(f => f!["topics"]!.AsArray()).Select(t => t!["code"]!.GetValue<string>()))
            {
                if (e == e0 && code == spreadTopic) continue;
                var answers = Round1Answers(e, topicOrder.IndexOf(code));
                answers.Remove("wording");
                if (Design(topicOrder.IndexOf(code)) == 1) answers["importance_economy"] = answers["importance_wellbeing"] = answers["importance_security"] = 3;
                // Every numeric answer carries a rationale: some of them lie outside last round's quartiles.
                var rationales = new[] { "importance_economy", "importance_wellbeing", "importance_security", "tech_year", "social_year" }
                    .ToDictionary(q => q, q => $"My view on {q} stands.");
                var saved = await Api.OkAsync(await experts[e].PutAsJsonAsync($"{S}/questionnaire/topics/{code}", new { answers, rationales }));
                Assert.True(saved["complete"]!.GetValue<bool>(), saved.ToJsonString());
            }
        }

        // 10. Close round 2: stability against round 1 is measured over experts who answered both.
        var closed2 = await Api.OkAsync(await coordinator.PostAsync($"{S}/rounds/2/close", null));
        var topics2 = closed2["topics"]!.AsArray().ToDictionary(t => t!["code"]!.GetValue<string>(), t => t!);
        Assert.Equal(carried.Count, topics2.Count);
        var spread2 = topics2[spreadTopic]["questions"]!.AsArray().Single(q => q!["question"]!.GetValue<string>() == "importance_wellbeing")!;
        // 8 experts answer the field; expert e0 answered only importance_economy of this topic in round 2.
        int notFamiliarHere = FieldsOf(19).Contains(FieldOf(spreadTopic)) && IsFirstTopicOf(19, spreadTopic, topicOrder) ? 1 : 0;
        Assert.Equal(8 - 1 - notFamiliarHere, spread2["stability"]!["n_pairs"]!.GetValue<int>());
        Assert.True(spread2["stability"]!["pct_changed"]!.GetValue<double>() > 50);
        Assert.Equal("consensus", spread2["state"]!.GetValue<string>()); // everyone answered 3
        var ranking = closed2["rankings"]!.AsArray();
        Assert.Equal(5, ranking.Count); // one per field
        Assert.All(ranking, r => Assert.InRange(r!["kendall"]!["w"]!.GetValue<double>(), 0.5, 0.999)); // strong but not perfect concordance
        Assert.All(ranking, r => Assert.Equal(8, r!["kendall"]!["n_experts"]!.GetValue<int>()));
        var rounds = await coordinator.GetOkAsync($"{S}/rounds");
        Assert.Equal(0, rounds[1]!["participation"]!["dropped_out"]!.GetValue<int>());

        // 11. Key technologies from the ranking, recorded with the criteria.
        var ranked = (await coordinator.GetOkAsync($"{S}/key-technologies/ranking")).AsArray();
        Assert.Equal(33, ranked.Count);
        Assert.Equal(Enumerable.Range(1, 33), ranked.Select(r => r!["rank"]!.GetValue<int>()));
        var top = ranked.Take(5).Select(r => r!["code"]!.GetValue<string>()).ToList();
        Assert.All(top, code => Assert.Contains(code, retired)); // the consensus topics rated 4 by nearly everyone lead
        var selection = await Api.OkAsync(await coordinator.PostAsJsonAsync($"{S}/key-technologies",
            new { criteria = "Top five by importance index; confirmed by the committee.", topics = top }));
        Assert.Equal(5, selection["topics"]!.AsArray().Count);
        Assert.Equal(2, selection["round"]!.GetValue<int>());

        // 12. The export is what `foresight stats` reads, and gives the server's numbers.
        var csvText = await coordinator.GetStringAsync($"{S}/exports/answers.csv");
        Assert.StartsWith("round,item_id,expert_id,familiarity,answer,", csvText);
        Assert.DoesNotContain("expert0@test.local", csvText);
        Assert.DoesNotContain("Expert 0,", csvText);
        var path = Path.Combine(_app.Directory, "answers.csv");
        await File.WriteAllTextAsync(path, csvText);
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        Assert.Equal(0, await CliApp.RunAsync(["stats", path], stdout, stderr));
        var stats = JsonNode.Parse(stdout.ToString())!;
        var round1Consensus = await coordinator.GetOkAsync($"{S}/rounds/1/consensus");
        int compared = 0;
        foreach (var topic in round1Consensus["topics"]!.AsArray())
            foreach (var q in topic!["questions"]!.AsArray().Where(q => q!["summary"] is JsonObject))
            {
                var itemId = $"{topic["code"]}.{q!["question"]}";
                var item = stats["items"]!.AsArray().Single(i => i!["round"]!.GetValue<int>() == 1 && i["item_id"]!.GetValue<string>() == itemId)!;
                foreach (var key in new[] { "n", "n_skip", "n_dont_know", "n_never", "median", "q1", "q3", "iqr", "mean", "sd", "cv", "pct_agree", "pct_never",
                    "importance_index", "importance_index_famw", "importance_index_fam_ge3" })
                    Assert.True(JsonNode.DeepEquals(q["summary"]![key],
                        item[key]), $"{itemId} {key}: server {q["summary"]![key]?.ToJsonString()} cli {item[key]?.ToJsonString()}");
                compared++;
            }
        Assert.True(compared > 100);
        foreach (var r in ranking)
        {
            var group = $"priority:{r!["field"]}";
            var k = stats["kendall"]!.AsArray().Single(x => x!["round"]!.GetValue<int>() == 2 && x["group"]?.GetValue<string>() == group)!;
            foreach (var key in new[] { "w", "chi2", "df", "p", "n_experts", "n_items" })
                Assert.True(JsonNode.DeepEquals(r["kendall"]![key],
                    k[key]), $"{group} {key}: server {r["kendall"]![key]?.ToJsonString()} cli {k[key]?.ToJsonString()}");
        }
        var stab = stats["stability"]!.AsArray().Single(s => s!["item_id"]!.GetValue<string>() == $"{spreadTopic}.importance_wellbeing")!;
        Assert.True(JsonNode.DeepEquals(spread2["stability"]!["pct_changed"], stab["pct_changed"]));
        Assert.True(JsonNode.DeepEquals(spread2["stability"]!["wilcoxon_p"], stab["wilcoxon_p"]));
    }

    static int FieldOf(string topic) => topic[1] - '0';
    static int[] FieldsOf(int e) => [e % 5 + 1, (e + 1) % 5 + 1];

    /// <summary>Expert 19 marked the first topic of their questionnaire "not familiar".</summary>
    static bool IsFirstTopicOf(int e, string topic, List<string> order) =>
        order.First(code => FieldsOf(e).Contains(FieldOf(code))) == topic;
}
