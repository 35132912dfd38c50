using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Foresight.Testing;
using Xunit;

namespace Foresight.Server.Tests;

/// <summary>
/// The machine layer as a coordinator uses it (issue 10): a Scopus export in, machine-proposed topics with evidence
/// reviewed into the topic list, round 1 run on them with the evidence shown to experts, argument clusters chosen for
/// round 2's feedback, the evaluation in the console, the API and the study report; and the platform with it off.
/// </summary>
public sealed class InsightsTests
{
    const string S = QuickStudy.S;
    const string I = S + "/insights";

    static async Task<JsonNode> ImportAsync(HttpClient c, string csv, string name = "scopus.csv")
    {
        using var form = new MultipartFormDataContent();
        var file = new ByteArrayContent(Encoding.UTF8.GetBytes(csv));
        file.Headers.ContentType = new MediaTypeHeaderValue("text/csv");
        form.Add(file, "file", name);
        return await Api.OkAsync(await c.PostAsync($"{I}/records/import", form));
    }

    static async Task<JsonNode> AnalyseAsync(HttpClient c, object body)
    {
        var response = await c.PostAsJsonAsync($"{I}/analyses", body);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var id = (await response.Content.ReadFromJsonAsync<JsonNode>())!["id"]!.GetValue<long>();
        return await Wait.ForAsync(() => c.GetOkAsync($"{I}/analyses/{id}"), a => a["status"]!.GetValue<string>() != "queued",
            a => $"analysis {id} to finish: {a?.ToJsonString()}");
    }

    /// <summary>ARI from the contingency table (Hubert and Arabie), written out here independently of the server.</summary>
    static double Ari(IReadOnlyList<(int Size, string Field)> cells)
    {
        static double C2(double n) => n * (n - 1) / 2;
        double n = cells.Sum(c => c.Size);
        double index = cells.Sum(c => C2(c.Size));
        double rows = cells.Sum(c => C2(c.Size));
        double columns = cells.GroupBy(c => c.Field).Sum(g => C2(g.Sum(c => c.Size)));
        double expected = rows * columns / C2(n);
        return (index - expected) / ((rows + columns) / 2 - expected);
    }

    [Fact]
    public async Task A_coordinator_imports_a_Scopus_export_reviews_the_proposals_into_topics_and_runs_round_1_on_them()
    {
        using var app = new ForesightFactory();
        var study = await QuickStudy.CreateAsync(app, experts: 6, open: false);
        var c = study.Coordinator;

        // Import: counts, duplicates and bad rows with their lines; the same file again adds nothing.
        var imported = await ImportAsync(c, LiteratureExport.Scopus());
        Assert.Equal("scopus", imported["format"]!.GetValue<string>());
        Assert.Equal(180, imported["added"]!.GetValue<int>());
        Assert.Equal(1, imported["duplicates"]!.GetValue<int>());
        Assert.Equal([183, 184], imported["errors"]!.AsArray().Select(e => e!["line"]!.GetValue<int>()));
        var again = await ImportAsync(c, LiteratureExport.Scopus(), "again.csv");
        Assert.Equal(0, again["added"]!.GetValue<int>());
        Assert.Equal(181, again["duplicates"]!.GetValue<int>());
        Assert.Equal(180, again["records_in_survey"]!.GetValue<long>());

        // Full-text search in both languages, stemmed.
        Assert.Equal(60, (await c.GetOkAsync($"{I}/records?q=qubit"))["total"]!.GetValue<long>());
        Assert.Equal(60, (await c.GetOkAsync($"{I}/records?q=robots"))["total"]!.GetValue<long>());
        Assert.Equal(20, (await c.GetOkAsync($"{I}/records?q={Uri.EscapeDataString("机器人")}"))["total"]!.GetValue<long>());
        Assert.Equal(0, (await c.GetOkAsync($"{I}/records?q=qubit&year_from=2030"))["total"]!.GetValue<long>());
        var noWords = await Api.ProblemAsync(await c.GetAsync($"{I}/records?q=the"), HttpStatusCode.BadRequest);
        Assert.Contains("no word to search", noWords["detail"]!.GetValue<string>());

        // Analysis 1: three proposals with their evidence and the parameters as run.
        var first = await AnalyseAsync(c, new { k = 3, seed = 42 });
        Assert.Equal("done", first["status"]!.GetValue<string>());
        Assert.Equal(180, first["records"]!.GetValue<int>());
        Assert.Equal(3, first["k"]!.GetValue<int>());
        Assert.Equal(42, first["parameters"]!["seed"]!.GetValue<long>());
        long a1 = first["id"]!.GetValue<long>();
        var queue = (await c.GetOkAsync($"{I}/proposals?status=open")).AsArray();
        Assert.Equal(3, queue.Count);
        var quantum = LiteratureExport.About(queue, a1, "qubit");
        var robots = LiteratureExport.About(queue, a1, "robot");
        var seabed = LiteratureExport.About(queue, a1, "seabed");
        Assert.Equal("Q", quantum["nearest_field"]!.GetValue<string>());
        Assert.Equal("A", robots["nearest_field"]!.GetValue<string>());
        Assert.False(quantum["outside_fields"]!.GetValue<bool>());
        Assert.True(seabed["outside_fields"]!.GetValue<bool>());
        Assert.Equal(60, quantum["size"]!.GetValue<int>());
        Assert.Equal(3, quantum["representatives"]!.AsArray().Count);
        Assert.NotNull(robots["suggested_title"]!["zh"]);

        // Decisions on analysis 1: a proposal without Chinese terms cannot be accepted as it stands in a bilingual survey.
        var noZh = await Api.ProblemAsync(await c.PostAsJsonAsync($"{I}/proposals/{quantum["id"]}/accept", new { code = "M-Q1" }), HttpStatusCode.BadRequest);
        Assert.Contains("Edit the proposal", noZh["detail"]!.GetValue<string>());
        await c.PostOkAsync($"{I}/proposals/{quantum["id"]}/edit", new
        {
            code = "M-Q1", field = "Q",
            title = new { zh = "超导量子比特纠错实现逻辑比特", en = "Error-corrected logical qubits on superconducting hardware" },
        });
        var accepted = await c.PostOkAsync($"{I}/proposals/{robots["id"]}/accept", new { code = "M-A1" });
        Assert.Equal(["M-A1"], accepted["topics"]!.AsArray().Select(t => t!.GetValue<string>()));
        await c.PostOkAsync($"{I}/proposals/{seabed["id"]}/reject", new { note = "outside the study's scope" });
        var twice = await Api.ProblemAsync(await c.PostAsJsonAsync($"{I}/proposals/{seabed["id"]}/accept", new { code = "M-Z" }), HttpStatusCode.Conflict);
        Assert.Contains("rejected already", twice["detail"]!.GetValue<string>());

        // Analysis 2 on the same records: merge two proposals, split the third.
        var second = await AnalyseAsync(c, new { k = 3, seed = 7 });
        long a2 = second["id"]!.GetValue<long>();
        queue = (await c.GetOkAsync($"{I}/proposals?status=open")).AsArray();
        var (q2, r2, s2) = (LiteratureExport.About(queue, a2, "qubit"), LiteratureExport.About(queue, a2, "robot"),
            LiteratureExport.About(queue, a2, "seabed"));
        await c.PostOkAsync($"{I}/proposals/merge", new
        {
            proposals = new[] { q2["id"]!.GetValue<long>(), r2["id"]!.GetValue<long>() }, code = "M-X1", field = "A",
            title = new { zh = "量子机器学习驱动的机器人", en = "Robots driven by quantum machine learning" },
        });
        await c.PostOkAsync($"{I}/proposals/{s2["id"]}/split", new
        {
            into = new[]
            {
                new { code = "M-S1", field = "Q", title = new { zh = "深海多金属结核量子传感勘探", en = "Quantum sensing for polymetallic nodule surveys" } },
                new { code = "M-S2", field = "Q", title = new { zh = "深海采矿沉积物羽流监测", en = "Monitoring of sediment plumes from seabed mining" } },
            },
        });

        // The decision log: who and when, newest first.
        var log = (await c.GetOkAsync($"{I}/decisions")).AsArray();
        Assert.Equal(["split", "merged", "rejected", "accepted", "edited"], log.Select(d => d!["decision"]!.GetValue<string>()));
        Assert.All(log, d => Assert.Equal("Test coordinator", d!["by"]!.GetValue<string>()));
        Assert.All(log, d => Assert.True(DateTimeOffset.TryParse(d!["created_at"]!.GetValue<string>(), out _)));

        // A topic deleted before round 1 sends its proposal back to the queue, to be decided again.
        Assert.Equal(HttpStatusCode.NoContent, (await c.DeleteAsync($"{S}/topics/M-A1")).StatusCode);
        Assert.Contains((await c.GetOkAsync($"{I}/proposals?status=open")).AsArray(), p => p!["id"]!.GetValue<long>() == robots["id"]!.GetValue<long>());
        await c.PostOkAsync($"{I}/proposals/{robots["id"]}/accept", new { code = "M-A1" });

        // Round 1 runs on the machine's topics; experts see the evidence, read-only and marked machine-generated.
        await study.OpenAsync();
        var sheet = await study.Experts[0].GetOkAsync($"{S}/questionnaire/topics/M-Q1");
        Assert.Equal("machine", sheet["origin"]!.GetValue<string>());
        var evidence = sheet["evidence"]!.AsArray();
        Assert.Single(evidence);
        Assert.Equal(quantum["id"]!.GetValue<long>(), evidence[0]!["id"]!.GetValue<long>());
        Assert.Equal(3, evidence[0]!["representatives"]!.AsArray().Count);
        Assert.Equal(2, (await study.Experts[0].GetOkAsync($"{S}/questionnaire/topics/M-X1"))["evidence"]!.AsArray().Count);
        Assert.Empty((await study.Experts[0].GetOkAsync($"{S}/questionnaire/topics/Q-T01"))["evidence"]!.AsArray());
        var page = await (await study.Experts[0].GetAsync("/survey/quick-start/topics/M-Q1?lang=en")).Content.ReadAsStringAsync();
        Assert.Contains("Evidence from the data", page);
        Assert.Contains("machine-generated", page);
        Assert.Contains(WebUtility.HtmlEncode(evidence[0]!["representatives"]![0]!["title"]!.GetValue<string>()), page);

        // Two arguments in the experts' rationales.
        string[] cost = ["Cryogenic cooling cost is far too high for industry", "The cost of cryogenic cooling stays too high",
            "Cooling cost at cryogenic temperatures is too high"];
        string[] talent = ["Shortage of trained quantum engineers slows progress", "Quantum engineers are in short supply, a talent shortage",
            "Talent shortage: too few quantum engineers"];
        for (int e = 0; e < 6; e++)
            await study.AnswerAsync(e, "M-Q1", QuickStudy.Answer(importance: 4 + e % 3, rationale: e < 3 ? cost[e] : talent[e - 3]));
        await study.CloseAsync(1);

        var grouped = (await c.GetOkAsync($"{I}/rounds/1/arguments?topic=M-Q1")).AsArray().Single()!;
        var clusters = grouped["clusters"]!.AsArray();
        Assert.Equal(2, clusters.Count);
        var costCluster = clusters.Single(a => a!["quotes"]!.AsArray().Any(q => q!.GetValue<string>().Contains("cooling")))!;
        Assert.All(costCluster["quotes"]!.AsArray(), q => Assert.Contains(q!.GetValue<string>(), cost));
        var chosen = await c.PutOkAsync($"{I}/rounds/1/arguments/M-Q1", new { clusters = new[] { costCluster["id"]!.GetValue<int>() } });
        Assert.Single(chosen["chosen"]!.AsArray());
        await Api.ProblemAsync(await c.PutAsJsonAsync($"{I}/rounds/1/arguments/M-Q1", new { clusters = new[] { 99 } }), HttpStatusCode.BadRequest);

        // Round 2's feedback shows the chosen argument; once it has opened, the choice is fixed.
        await study.OpenAsync();
        var feedback = (await study.Experts[4].GetOkAsync($"{S}/questionnaire/topics/M-Q1"))["feedback"]!["sources"]![0]!["arguments"]!.AsArray();
        Assert.Single(feedback);
        Assert.Equal(costCluster["size"]!.GetValue<int>(), feedback[0]!["size"]!.GetValue<int>());
        var round2Page = await (await study.Experts[4].GetAsync("/survey/quick-start/topics/M-Q1?lang=en")).Content.ReadAsStringAsync();
        Assert.Contains("Main arguments of round 1", round2Page);
        await Api.ProblemAsync(await c.PutAsJsonAsync($"{I}/rounds/1/arguments/M-Q1", new { clusters = Array.Empty<int>() }), HttpStatusCode.Conflict);

        // Evaluation: shares per proposal, and the adjusted Rand index of clusters against the fields chosen.
        var evaluation = await c.GetOkAsync($"{I}/evaluation");
        Assert.Equal(6, evaluation["proposals"]!.GetValue<int>());
        Assert.Equal(0, evaluation["open"]!.GetValue<int>());
        var shares = evaluation["shares"]!;
        Assert.Equal(1 / 6.0, shares["accepted"]!.GetValue<double>(), 12);
        Assert.Equal(1 / 6.0, shares["edited"]!.GetValue<double>(), 12);
        Assert.Equal(2 / 6.0, shares["merged"]!.GetValue<double>(), 12);
        Assert.Equal(1 / 6.0, shares["split"]!.GetValue<double>(), 12);
        Assert.Equal(1 / 6.0, shares["rejected"]!.GetValue<double>(), 12);
        var all = (await c.GetOkAsync($"{I}/proposals")).AsArray();
        int Size(JsonNode p) => all.Single(x => x!["id"]!.GetValue<long>() == p["id"]!.GetValue<long>())!["size"]!.GetValue<int>();
        // Analysis 2 has more records in kept proposals (all three) than analysis 1 (two): its records are compared.
        var cells = new List<(int, string)> { (Size(q2), "A"), (Size(r2), "A"), (Size(s2), "Q") };
        var agreement = evaluation["agreement"]!;
        Assert.Equal(a2, agreement["analysis"]!.GetValue<long>());
        Assert.Equal(cells.Sum(x => x.Item1), agreement["records"]!.GetValue<int>());
        Assert.Equal(3, agreement["proposals"]!.GetValue<int>());
        Assert.Equal(Ari(cells), agreement["adjusted_rand_index"]!.GetValue<double>(), 9);
        int nearest = new[] { (quantum, "Q"), (robots, "A"), (q2, "A"), (r2, "A"), (s2, "Q") }.Count(x =>
            x.Item1["nearest_field"]?.GetValue<string>() == x.Item2);
        Assert.Equal(nearest, agreement["nearest_field_matches"]!.GetValue<int>());

        // The console shows the same figures; the study report has the evaluation section.
        var console = await (await c.GetAsync("/console/surveys/quick-start/insights?lang=en")).Content.ReadAsStringAsync();
        Assert.Contains("Evaluation of the machine analysis", console);
        Assert.Contains(agreement["adjusted_rand_index"]!.GetValue<double>().ToString("0.000", System.Globalization.CultureInfo.InvariantCulture), console);
        Assert.Contains("outside the study&#x27;s scope", console);
        var report = await (await c.GetAsync($"{S}/report.html?lang=en")).Content.ReadAsStringAsync();
        Assert.Contains("id=\"machine\"", report);
        Assert.Contains("adjusted Rand index", report);
        Assert.Contains(">33%<", report.Replace(" ", ""));
    }

    [Fact]
    public async Task Bad_input_is_refused_in_words_and_stores_nothing()
    {
        using var app = new ForesightFactory();
        var study = await QuickStudy.CreateAsync(app, experts: 1, open: false);
        var c = study.Coordinator;
        var unknown = await Api.ProblemAsync(await c.PostAsync($"{I}/records/import", new StringContent("hello,world\n1,2\n")), HttpStatusCode.BadRequest);
        Assert.Contains("first line is not the header", unknown["detail"]!.GetValue<string>());
        var onlyBad = "Authors,Title,Year\n\"A\",\"\",2020\n";
        var none = await Api.ProblemAsync(await c.PostAsync($"{I}/records/import?format=scopus", new StringContent(onlyBad)), HttpStatusCode.BadRequest);
        Assert.Contains("line 2", none["detail"]!.GetValue<string>());
        Assert.Contains("Nothing was stored", none["detail"]!.GetValue<string>());
        await Api.ProblemAsync(await c.PostAsync($"{I}/records/import?format=ris", new StringContent(onlyBad)), HttpStatusCode.BadRequest);
        Assert.Empty((await c.GetOkAsync($"{I}/records/imports")).AsArray());

        var empty = await Api.ProblemAsync(await c.PostAsJsonAsync($"{I}/analyses", new { }), HttpStatusCode.BadRequest);
        Assert.Contains("No record matches", empty["detail"]!.GetValue<string>());
        await ImportAsync(c, LiteratureExport.Scopus(perTheme: 4));
        var tooFew = await Api.ProblemAsync(await c.PostAsJsonAsync($"{I}/analyses", new { k = 10 }), HttpStatusCode.BadRequest);
        Assert.Contains("needs at least 20", tooFew["detail"]!.GetValue<string>());
        var invalid = await Api.ProblemAsync(await c.PostAsJsonAsync($"{I}/analyses", new { method = "lda", k_min = 9, k_max = 3 }), HttpStatusCode.BadRequest);
        Assert.Contains("method must be kmeans or agglomerative", invalid.ToJsonString());
        Assert.Empty((await c.GetOkAsync($"{I}/analyses")).AsArray());
        await Api.ProblemAsync(await c.PostAsJsonAsync($"{I}/proposals/12345/reject", new { }), HttpStatusCode.NotFound);
        await Api.ProblemAsync(await c.GetAsync($"{I}/rounds/1/arguments"), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task With_the_machine_layer_switched_off_the_platform_runs_without_it()
    {
        using var app = new ForesightFactory().With("Foresight:Insights:Enabled", "false");
        var study = await QuickStudy.CreateAsync(app, experts: 3);
        var off = await Api.ProblemAsync(await study.Coordinator.GetAsync($"{I}/proposals"), HttpStatusCode.NotFound);
        Assert.Contains("Foresight:Insights:Enabled", off["detail"]!.GetValue<string>());
        await Api.ProblemAsync(await study.Coordinator.PostAsync($"{I}/records/import", new StringContent(LiteratureExport.Scopus(4))),
            HttpStatusCode.NotFound);
        Assert.Equal(HttpStatusCode.NotFound, (await study.Coordinator.GetAsync("/console/surveys/quick-start/insights")).StatusCode);
        var overview = await (await study.Coordinator.GetAsync("/console/surveys/quick-start?lang=en")).Content.ReadAsStringAsync();
        Assert.DoesNotContain("/insights", overview);

        // A whole round without it: answers, close, feedback, report.
        for (int e = 0; e < 3; e++) await study.AnswerAsync(e, "Q-T01", QuickStudy.Answer(5 + e, rationale: "because"));
        await study.CloseAsync(1);
        await study.OpenAsync();
        var sheet = await study.Experts[0].GetOkAsync($"{S}/questionnaire/topics/Q-T01");
        Assert.Empty(sheet["evidence"]!.AsArray());
        Assert.Empty(sheet["feedback"]!["sources"]![0]!["arguments"]!.AsArray());
        var report = await (await study.Coordinator.GetAsync($"{S}/report.html?lang=en")).Content.ReadAsStringAsync();
        Assert.DoesNotContain("id=\"machine\"", report);
    }
}
