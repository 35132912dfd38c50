using System.IO.Compression;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Xunit.Abstractions;

namespace Foresight.Server.Tests;

/// <summary>
/// Delphi's anonymity: whatever an expert or a stakeholder can read (API answers, pages, hub messages, exports,
/// reports as HTML and PDF) names no expert; answers carry pseudonyms; breakdowns by organisation type are shown
/// only for groups of at least k respondents, k set per survey.
/// </summary>
public sealed class AnonymityTests(ITestOutputHelper output) : IDisposable
{
    readonly ForesightFactory _app = new();

    public void Dispose() => _app.Dispose();

    // Real-time view for experts and the live consensus for stakeholders, so the hub sends both something to read.
    static string Yaml(int k) => Api.Survey("quick-start.yaml").Replace("min_group_size: 5", $"min_group_size: {k}")
        + "\nlive:\n  real_time: true\n  min_answers: 3\n  stakeholders: consensus\n";

    /// <summary>What identifies expert i in the pool (QuickStudy's experts).</summary>
    static string[] Identity(int i) => [$"Quick Expert {i}", $"quick{i}@test.local", $"Institute {i}"];

    [Fact]
    public async Task Nothing_an_expert_or_a_stakeholder_reads_names_an_expert()
    {
        // Five experts from universities and one from an enterprise: the enterprise group is below k = 5.
        var study = await QuickStudy.CreateAsync(_app, experts: 6, yaml: Yaml(5), orgTypes: ["UNI", "UNI", "UNI", "UNI", "UNI", "ENT"]);
        var admin = await _app.AdminAsync();
        await Api.OkAsync(await admin.PostAsJsonAsync("/api/users", new { email = "stakeholder@test.local", name = "S", role = "stakeholder",
            password = "stakeholder-password" }));
        await study.Coordinator.PostOkAsync($"{QuickStudy.S}/stakeholders", new { email = "stakeholder@test.local" });
        var stakeholder = await _app.SignInAsync("stakeholder@test.local", "stakeholder-password");

        await using var expertLive = await LiveClient.ConnectAsync(_app, study.Secrets[0]);
        await expertLive.JoinAsync("quick-start");
        await using var stakeholderLive = await LiveClient.ConnectAsync(_app, stakeholder.DefaultRequestHeaders.Authorization!.Parameter);
        await stakeholderLive.JoinAsync("quick-start");

        for (int e = 0; e < 6; e++)
            foreach (var topic in QuickStudy.Topics)
                await study.AnswerAsync(e, topic, QuickStudy.Answer(2 + e, year: 2030 + e, rationale: $"argument number {e} for {topic}"));
        await study.Experts[1].PostOkAsync($"{QuickStudy.S}/topics/Q-T01/messages", new { body = "A point for the others to consider." });
        await expertLive.WaitAsync(l => l.Received.Count(r => r.Method == "update") > 0, "live updates to the expert");
        await stakeholderLive.WaitAsync(l => l.Received.Count(r => r.Method == "update") > 0, "live updates to the stakeholder");

        await study.CloseAsync(1);
        await study.Coordinator.PostOkAsync($"{QuickStudy.S}/reports/publish", new { kind = "round", round = 1, language = "en" });
        var shared = (await study.Coordinator.PostOkAsync($"{QuickStudy.S}/reports/publish",
            new { kind = "round", round = 1, language = "zh-CN" }))["link"]!.GetValue<string>();
        await study.OpenAsync();

        // What expert 0 reads in round 2.
        var expertReads = new List<(string What, string Text)>();
        async Task Read(List<(string, string)> into, HttpClient client, string url)
        {
            var response = await client.GetAsync(url);
            Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode} {url}");
            var bytes = await response.Content.ReadAsByteArrayAsync();
            var type = response.Content.Headers.ContentType?.MediaType ?? "";
            into.Add((url, type switch
            {
                "application/pdf" => ReportsTests.Text(bytes),
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" => XlsxText(bytes),
                _ => Encoding.UTF8.GetString(bytes),
            }));
        }
        var expert = study.Experts[0];
        await Read(expertReads, expert, $"{QuickStudy.S}/questionnaire");
        await Read(expertReads, expert, "/api/surveys");
        await Read(expertReads, expert, "/api/auth/me");
        await Read(expertReads, expert, "/survey/quick-start?lang=en");
        await Read(expertReads, expert, "/survey/quick-start/profile?lang=en");
        foreach (var topic in QuickStudy.Topics)
        {
            await Read(expertReads, expert, $"{QuickStudy.S}/questionnaire/topics/{topic}");
            await Read(expertReads, expert, $"{QuickStudy.S}/questionnaire/topics/{topic}/history");
            await Read(expertReads, expert, $"{QuickStudy.S}/topics/{topic}/messages");
            await Read(expertReads, expert, $"/survey/quick-start/topics/{topic}?lang=en");
            await Read(expertReads, expert, $"/survey/quick-start/topics/{topic}?lang=zh-CN");
        }
        expertReads.Add(("hub", string.Join("\n", expertLive.Received.Select(r => r.Message.ToJsonString()))));

        // What the stakeholder reads.
        var stakeholderReads = new List<(string What, string Text)>();
        await Read(stakeholderReads, stakeholder, "/api/surveys");
        await Read(stakeholderReads, stakeholder, $"{QuickStudy.S}/reports");
        await Read(stakeholderReads, stakeholder, "/reports?lang=en");
        await Read(stakeholderReads, stakeholder, $"{QuickStudy.S}/rounds/1/report.html?lang=en");
        await Read(stakeholderReads, stakeholder, $"{QuickStudy.S}/exports/consensus.csv");
        await Read(stakeholderReads, stakeholder, $"{QuickStudy.S}/exports/consensus.xlsx");
        await Read(stakeholderReads, _app.Anonymous(), new Uri(shared).PathAndQuery);
        stakeholderReads.Add(("pdf", ReportsTests.Text(await ReportsTests.PdfAsync(stakeholder, $"{QuickStudy.S}/rounds/1/report.pdf?lang=en"))));
        stakeholderReads.Add(("hub", string.Join("\n", stakeholderLive.Received.Select(r => r.Message.ToJsonString()))));

        // The reads are not empty: they hold the answers' substance (rationales, the message, statistics).
        Assert.Contains(expertReads, r => r.Text.Contains("argument number 3 for Q-T01"));
        Assert.Contains(expertReads, r => r.Text.Contains("A point for the others to consider."));
        Assert.Contains(stakeholderReads, r => r.What == "pdf" && r.Text.Contains("Round 1"));
        Assert.Contains(stakeholderReads, r => r.What == "hub" && r.Text.Contains("median"));

        for (int other = 0; other < 6; other++)
            foreach (var identity in Identity(other))
            {
                // Expert 0 may see their own name on their own pages; never another's.
                if (other != 0) Assert.DoesNotContain(expertReads, r => r.Text.Contains(identity, StringComparison.OrdinalIgnoreCase));
                Assert.DoesNotContain(stakeholderReads, r => r.Text.Contains(identity, StringComparison.OrdinalIgnoreCase));
            }
        output.WriteLine($"expert read {expertReads.Count} answers ({expertReads.Sum(r => r.Text.Length)} characters), stakeholder {stakeholderReads.Count} " +
            $"({stakeholderReads.Sum(r => r.Text.Length)}); no expert named");

        // The group breakdown: universities (5) shown, the one enterprise expert suppressed.
        var feedback = (await study.Experts[0].GetOkAsync($"{QuickStudy.S}/questionnaire/topics/Q-T01"))["feedback"]!;
        var importance = Questions(feedback).Single(q => q["question"]!.GetValue<string>() == "importance")!;
        Assert.Equal(["UNI"], importance["groups"]!.AsArray().Select(g => g!["group"]!.GetValue<string>()));
        Assert.Equal(5, importance["groups"]![0]!["n"]!.GetValue<int>());
        Assert.Equal(1, importance["groups_suppressed"]!.GetValue<int>());
        // The report's panel composition gives the small group as "fewer than 5", not 1.
        var html = stakeholderReads.Single(r => r.What.EndsWith("report.html?lang=en")).Text;
        Assert.Contains("fewer than 5", html, StringComparison.OrdinalIgnoreCase);

        // The coordinator's answer export identifies experts by pseudonym only.
        var answers = await (await study.Coordinator.GetAsync($"{QuickStudy.S}/exports/answers.csv")).Content.ReadAsStringAsync();
        Assert.All(study.Pseudonyms, p => Assert.Contains($",{p},", answers));
        for (int i = 0; i < 6; i++) Assert.All(Identity(i), id => Assert.DoesNotContain(id, answers));
    }

    [Fact]
    public async Task The_smallest_group_shown_is_set_per_survey()
    {
        // k = 1: every group is shown, the single enterprise expert too (the coordinator chose it).
        var study = await QuickStudy.CreateAsync(_app, experts: 3, yaml: Yaml(1), orgTypes: ["UNI", "UNI", "ENT"]);
        for (int e = 0; e < 3; e++) await study.AnswerAsync(e, "Q-T01", QuickStudy.Answer(5 + e));
        await study.CloseAsync(1);
        await study.OpenAsync();
        var feedback = (await study.Experts[0].GetOkAsync($"{QuickStudy.S}/questionnaire/topics/Q-T01"))["feedback"]!;
        var importance = Questions(feedback).Single(q => q["question"]!.GetValue<string>() == "importance")!;
        Assert.Equal(["ENT", "UNI"], importance["groups"]!.AsArray().Select(g => g!["group"]!.GetValue<string>()));
        Assert.Equal(0, importance["groups_suppressed"]!.GetValue<int>());
    }

    static IEnumerable<JsonNode> Questions(JsonNode feedback) =>
        feedback["sources"]!.AsArray().SelectMany(s => s!["questions"]!.AsArray()).Select(q => q!);

    /// <summary>The text of a workbook: its shared strings and inline cells.</summary>
    static string XlsxText(byte[] xlsx)
    {
        using var zip = new ZipArchive(new MemoryStream(xlsx));
        var text = new StringBuilder();
        foreach (var entry in zip.Entries.Where(e => e.FullName.EndsWith(".xml")))
            using (var reader = new StreamReader(entry.Open())) text.Append(reader.ReadToEnd());
        return text.ToString();
    }
}
