using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using ClosedXML.Excel;
using Foresight.Core.Surveys;
using Foresight.Reports;
using UglyToad.PdfPig;

namespace Foresight.Server.Tests;

/// <summary>
/// Round reports through the server: rendered in the background when a round closes, read back from the PDF and
/// compared with the stored consensus, served to stakeholders once published, stored per data version, and failures
/// retried and reported. Exports for analysts carry the same figures.
/// </summary>
public sealed class ReportsTests : IDisposable
{
    readonly ForesightFactory _app = new();
    const string S = QuickStudy.S;

    public void Dispose() => _app.Dispose();

    static string Squeeze(string s) => new(s.Where(c => !char.IsWhiteSpace(c)).ToArray());

    static int Importance(string topic, int e, int i) => topic == "A-T03" ? (e % 2 == 0 ? 1 : 7) : 3 + (e + i) % 4;

    /// <summary>The quick-start survey answered by six experts in round 1 (A-T03 in two camps), then closed.</summary>
    static async Task<(QuickStudy Study, JsonNode Closed)> ClosedRoundAsync(ForesightFactory app)
    {
        var study = await QuickStudy.CreateAsync(app, experts: 6);
        for (int e = 0; e < 6; e++)
            for (int i = 0; i < QuickStudy.Topics.Length; i++)
            {
                var topic = QuickStudy.Topics[i];
                await study.AnswerAsync(e, topic, QuickStudy.Answer(Importance(topic, e, i), year: 2030 + 5 * (e % 3), familiarity: 3 + e % 2,
                    feasibility: 5 + e % 3, rationale: e == 0 ? $"Rationale of the first expert on {topic}." : null));
            }
        return (study, await study.CloseAsync(1));
    }

    /// <summary>GETs a report until it is rendered (202 meanwhile); returns its bytes.</summary>
    internal static async Task<byte[]> PdfAsync(HttpClient client, string url)
    {
        byte[]? pdf = null;
        string last = "";
        await Wait.UntilAsync(async () =>
        {
            using var response = await client.GetAsync(url);
            if (response.StatusCode == HttpStatusCode.OK)
            {
                Assert.Equal("application/pdf", response.Content.Headers.ContentType?.MediaType);
                pdf = await response.Content.ReadAsByteArrayAsync();
                return true;
            }
            last = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"{(int)response.StatusCode} {url}: {last}");
            return false;
        }, () => $"{url} to be rendered: {last}", pollMs: 500);
        return pdf!;
    }

    internal static string Text(byte[] pdf)
    {
        using var document = PdfDocument.Open(pdf);
        return string.Concat(document.GetPages().Select(p => p.Text));
    }

    static double? D(JsonNode? n) => n?.GetValue<double>();

    [Fact]
    public async Task Closing_a_round_renders_its_report_in_each_language_with_the_figures_of_the_stored_consensus()
    {
        var study = await QuickStudy.CreateAsync(_app, experts: 6);
        await using var watcher = await LiveClient.ConnectAsync(_app, study.Coordinator.DefaultRequestHeaders.Authorization!.Parameter);
        await watcher.JoinAsync("quick-start");
        for (int e = 0; e < 6; e++)
            for (int i = 0; i < QuickStudy.Topics.Length; i++)
            {
                var topic = QuickStudy.Topics[i];
                await study.AnswerAsync(e, topic, QuickStudy.Answer(Importance(topic, e, i), year: 2030 + 5 * (e % 3), familiarity: 3 + e % 2,
                    feasibility: 5 + e % 3, rationale: e == 0 ? $"Rationale of the first expert on {topic}." : null));
            }
        await study.CloseAsync(1);

        // The job renders both languages when the round closes, and the coordinator hears of each as it is ready.
        await watcher.WaitAsync(c => c.Received.Count(m => m.Method == "report") >= 2, "two report-ready messages");
        var pushed = watcher.Received.Where(m => m.Method == "report").Select(m => m.Message).ToList();
        Assert.Equal(["en", "zh-CN"], pushed.Select(m => m["language"]!.GetValue<string>()).Order());
        Assert.All(pushed, m => Assert.Equal(1, m["round"]!.GetValue<int>()));

        var consensus = await study.Coordinator.GetOkAsync($"{S}/rounds/1/consensus");
        var round = await study.Coordinator.GetOkAsync($"{S}/rounds/1");
        var survey = SurveyFile.Parse(Api.Survey("quick-start.yaml")).Survey!;
        foreach (var language in new[] { Languages.English, Languages.Chinese })
        {
            var url = pushed.Single(m => m["language"]!.GetValue<string>() == language)["url"]!.GetValue<string>();
            var text = Squeeze(Text(await PdfAsync(study.Coordinator, url)));
            var t = new ReportText(language);
            Assert.Contains(round["data_hash"]!.GetValue<string>(), text);
            foreach (var topic in consensus["topics"]!.AsArray())
            {
                var code = topic!["code"]!.GetValue<string>();
                Assert.Contains(Squeeze(survey.Topics.Single(x => x.Code == code).Title.Get(language)), text);
                foreach (var q in topic["questions"]!.AsArray().Where(q => q!["summary"] is JsonObject))
                {
                    var s = q!["summary"]!;
                    var figures = $"n {s["n"]} · {t["median"]} {Svg.Num(D(s["median"]))} · Q1–Q3 {Svg.Num(D(s["q1"]))}–{Svg.Num(D(s["q3"]))}";
                    Assert.True(text.Contains(Squeeze(figures)), $"{language} {code}.{q["question"]}: '{figures}' not in the PDF");
                    if (D(s["pct_agree"]) is { } agree)
                        Assert.Contains(Squeeze($"{figures} · {t["agree"]} {Svg.Num(agree, 0)}%"), text);
                }
            }
            // Rationales appear without who gave them; no expert is named.
            Assert.Contains(Squeeze("Rationale of the first expert on A-T03."), text);
            Assert.DoesNotContain("QuickExpert", text);
            Assert.DoesNotContain("@test.local", text);
            Assert.All(study.Pseudonyms, p => Assert.DoesNotContain(Squeeze(p), text));
        }

        // A-T03's two camps are called out as dissensus, in the summary of polarized topics and at the topic.
        var html = await study.Coordinator.GetStringAsync($"{S}/rounds/1/report.html?lang=en");
        var polarized = html[html.IndexOf("id=\"polarized\"", StringComparison.Ordinal)..html.IndexOf("id=\"results\"", StringComparison.Ordinal)];
        Assert.Contains("A-T03", polarized);
        Assert.Contains("<link rel=\"stylesheet\" href=\"/css/report.css\">", html);
    }

    [Fact]
    public async Task Stakeholders_read_a_report_once_it_is_published_and_so_does_anyone_with_its_link()
    {
        var (study, _) = await ClosedRoundAsync(_app);
        var admin = await _app.AdminAsync();
        await Api.OkAsync(await admin.PostAsJsonAsync("/api/users", new { email = "reader@test.local", name = "Reader", role = "stakeholder",
            password = "reader-password" }));
        var stakeholder = await _app.SignInAsync("reader@test.local", "reader-password");

        // Not granted the survey yet: nothing.
        await Api.ProblemAsync(await stakeholder.GetAsync($"{S}/rounds/1/report.pdf?lang=en"), HttpStatusCode.Forbidden);
        await Api.OkAsync(await study.Coordinator.PostAsJsonAsync($"{S}/stakeholders", new { email = "reader@test.local" }));

        // Granted, but nothing published: the report, the list and the exports stay closed.
        var refused = await Api.ProblemAsync(await stakeholder.GetAsync($"{S}/rounds/1/report.pdf?lang=en"), HttpStatusCode.Forbidden);
        Assert.Contains("not published", refused["detail"]!.GetValue<string>());
        Assert.Empty((await stakeholder.GetOkAsync($"{S}/reports")).AsArray());
        await Api.ProblemAsync(await stakeholder.GetAsync($"{S}/exports/consensus.csv"), HttpStatusCode.Forbidden);
        await Api.ProblemAsync(await stakeholder.PostAsJsonAsync($"{S}/reports/publish", new { round = 1, language = "en" }), HttpStatusCode.Forbidden);
        await Api.ProblemAsync(await study.Experts[0].GetAsync($"{S}/rounds/1/report.pdf?lang=en"), HttpStatusCode.Forbidden);
        Assert.Equal(HttpStatusCode.Unauthorized, (await _app.Anonymous().GetAsync($"{S}/rounds/1/report.pdf?lang=en")).StatusCode);

        var published = await study.Coordinator.PostOkAsync($"{S}/reports/publish", new { round = 1, language = "en" });
        var link = new Uri(published["link"]!.GetValue<string>());
        Assert.Equal("foresight.test", link.Host);

        var pdf = await PdfAsync(stakeholder, $"{S}/rounds/1/report.pdf?lang=en");
        var survey = SurveyFile.Parse(Api.Survey("quick-start.yaml")).Survey!;
        Assert.Contains(Squeeze(survey.Topics.Single(x => x.Code == "A-T03").Title.Get(Languages.English)), Squeeze(Text(pdf)));
        var entries = (await stakeholder.GetOkAsync($"{S}/reports")).AsArray();
        Assert.Equal("en", Assert.Single(entries)!["language"]!.GetValue<string>());
        Assert.True(entries[0]!["published"]!.GetValue<bool>());
        // Only the published language.
        await Api.ProblemAsync(await stakeholder.GetAsync($"{S}/rounds/1/report.pdf?lang=zh-CN"), HttpStatusCode.Forbidden);
        // Aggregate exports, yes; individual answers, no.
        Assert.Equal(HttpStatusCode.OK, (await stakeholder.GetAsync($"{S}/exports/consensus.csv")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await stakeholder.GetAsync($"{S}/exports/answers.csv")).StatusCode);

        // The link works without an account, as PDF and as a web page.
        var anonymous = _app.Anonymous();
        Assert.Equal(pdf, await PdfAsync(anonymous, link.PathAndQuery));
        var page = await anonymous.GetStringAsync(link.PathAndQuery + "?format=html");
        Assert.Contains("Round 1 results", page);
        await Api.ProblemAsync(await anonymous.GetAsync("/r/not-a-real-link"), HttpStatusCode.NotFound);

        // Publishing again replaces the link.
        var again = await study.Coordinator.PostOkAsync($"{S}/reports/publish", new { round = 1, language = "en" });
        await Api.ProblemAsync(await anonymous.GetAsync(link.PathAndQuery), HttpStatusCode.NotFound);
        Assert.Equal(pdf, await PdfAsync(anonymous, new Uri(again["link"]!.GetValue<string>()).PathAndQuery));
    }

    [Fact]
    public async Task A_stored_report_is_served_again_and_changed_data_gives_a_new_version()
    {
        var (study, closed) = await ClosedRoundAsync(_app);
        const string url = $"{S}/rounds/1/report.pdf?lang=en";
        var first = await PdfAsync(study.Coordinator, url);
        var before = (await study.Coordinator.GetOkAsync($"{S}/reports")).AsArray().Where(e => e!["language"]!.GetValue<string>() == "en").ToList();
        var version = Assert.Single(before)!["data_version"]!.GetValue<string>();
        Assert.Contains(version, Squeeze(Text(first)));

        // Asking again serves the stored file: same bytes, no new render.
        Assert.Equal(first, await PdfAsync(study.Coordinator, url));
        var request = await study.Coordinator.PostAsJsonAsync($"{S}/reports", new { round = 1, language = "en" });
        Assert.Equal(HttpStatusCode.Accepted, request.StatusCode);
        Assert.Equal("ready", (await Api.OkAsync(request))["status"]!.GetValue<string>());
        var same = (await study.Coordinator.GetOkAsync($"{S}/reports")).AsArray().Single(e => e!["language"]!.GetValue<string>() == "en")!;
        Assert.Equal(before[0]!["rendered_at"]!.GetValue<string>(), same["rendered_at"]!.GetValue<string>());

        // The coordinator overrides a topic's fate after the round: the report's data changed, so it is a new version.
        var topic = closed["topics"]!.AsArray().First()!;
        var flipped = topic["decision"]!.GetValue<string>() == "carry" ? "retire" : "carry";
        await study.Coordinator.PutOkAsync($"{S}/rounds/1/topics/{topic["code"]!.GetValue<string>()}/decision", new { decision = flipped });
        var second = await PdfAsync(study.Coordinator, url);
        Assert.NotEqual(first, second);
        var after = (await study.Coordinator.GetOkAsync($"{S}/reports")).AsArray().Where(e => e!["language"]!.GetValue<string>() == "en").ToList();
        Assert.Equal(2, after.Count);
        Assert.All(after, e => Assert.Equal("ready", e!["status"]!.GetValue<string>()));
        var newVersion = after.Select(e => e!["data_version"]!.GetValue<string>()).Single(v => v != version);
        Assert.Contains(newVersion, Squeeze(Text(second)));
        // Both files are kept; no temporary file is left beside them.
        var folder = Path.Combine(Path.GetDirectoryName(_app.DatabasePath)!, "reports");
        Assert.Equal(2, Directory.GetFiles(folder, "round-1-en-*.pdf", SearchOption.AllDirectories).Length);
        Assert.Empty(Directory.GetFiles(folder, "*.partial*", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task A_failed_render_is_retried_and_reported_and_no_file_is_served()
    {
        _app.With("Foresight:Pdf:ExecutablePath", "/nonexistent/chromium");
        var (study, _) = await ClosedRoundAsync(_app);

        // Hangfire retries the job (its first retry after 5 s); the test waits for the second attempt to have failed.
        var entry = await Wait.ForAsync(
            async () => (await study.Coordinator.GetOkAsync($"{S}/reports")).AsArray().FirstOrDefault(e => e!["language"]!.GetValue<string>() == "en"),
            e => e is not null && e["status"]!.GetValue<string>() == "failed" && e["attempts"]!.GetValue<int>() >= 2,
            e => $"a second failed attempt: {e?.ToJsonString()}", pollMs: 500);
        Assert.NotNull(entry);
        Assert.True(entry["attempts"]!.GetValue<int>() >= 2, $"not retried: {entry.ToJsonString()}");
        Assert.Contains("chromium", entry["error"]!.GetValue<string>());

        var response = await study.Coordinator.GetAsync($"{S}/rounds/1/report.pdf?lang=en");
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal("5", response.Headers.GetValues("Retry-After").Single());
        Assert.Contains("chromium", (await Api.OkAsync(response))["last_error"]!.GetValue<string>());
        var folder = Path.Combine(Path.GetDirectoryName(_app.DatabasePath)!, "reports");
        Assert.Empty(Directory.Exists(folder) ? Directory.GetFiles(folder, "*.pdf*", SearchOption.AllDirectories) : []);
        // The web page does not need the browser.
        var html = await study.Coordinator.GetAsync($"{S}/rounds/1/report.html?lang=en");
        Assert.Equal(HttpStatusCode.OK, html.StatusCode);
        Assert.Equal("text/html", html.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task After_a_restart_the_reports_table_says_what_still_has_to_be_rendered()
    {
        // The first server cannot print (no browser at that path): the report of the closed round fails.
        QuickStudy study;
        using (var broken = new ForesightFactory().With("Foresight:Database", _app.DatabasePath).With("Foresight:Pdf:ExecutablePath", "/nonexistent/chromium"))
        {
            (study, _) = await ClosedRoundAsync(broken);
            await Wait.ForAsync(() => study.Coordinator.GetOkAsync($"{S}/reports"), r =>
                r.AsArray().Count(e => e!["status"]!.GetValue<string>() == "failed") >= 2,
                r => $"both renders to fail: {r?.ToJsonString()}", pollMs: 200);
        }

        // The next server, with a browser, renders both languages at start-up without being asked.
        var coordinator = await _app.SignInAsync("coordinator@test.local", "coordinator-password");
        var entries = await Wait.ForAsync(async () => (await coordinator.GetOkAsync($"{S}/reports")).AsArray(),
            r => r.Count(e => e!["status"]!.GetValue<string>() == "ready") >= 2, r => $"both reports rendered after the restart: {r?.ToJsonString()}",
            pollMs: 500);
        Assert.All(entries, e => Assert.Equal("ready", e!["status"]!.GetValue<string>()));
    }

    [Fact]
    public async Task Consensus_exports_carry_the_stored_figures_as_csv_and_as_a_workbook_with_a_sheet_per_round()
    {
        var (study, _) = await ClosedRoundAsync(_app);
        var consensus = await study.Coordinator.GetOkAsync($"{S}/rounds/1/consensus");

        var csv = (await study.Coordinator.GetStringAsync($"{S}/exports/consensus.csv")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var header = csv[0].Split(',');
        int Col(string name) => Array.IndexOf(header, name);
        var rows = csv.Skip(1).Select(l => l.Split(',')).ToDictionary(r => (r[Col("topic")], r[Col("question")]));
        int compared = 0;
        foreach (var topic in consensus["topics"]!.AsArray())
            foreach (var q in topic!["questions"]!.AsArray().Where(q => q!["summary"] is JsonObject))
            {
                var row = rows[(topic["code"]!.GetValue<string>(), q!["question"]!.GetValue<string>())];
                Assert.Equal("1", row[Col("round")]);
                foreach (var key in new[] { "n", "median", "q1", "q3", "iqr", "pct_agree", "importance_index" })
                {
                    var expected = q["summary"]![key];
                    var actual = row[Col(key)];
                    if (expected is null) Assert.Equal("", actual);
                    else Assert.Equal(expected.GetValue<double>(), double.Parse(actual, CultureInfo.InvariantCulture), 12);
                    compared++;
                }
            }
        Assert.True(compared > 50, $"{compared} figures compared");

        var bytes = await study.Coordinator.GetByteArrayAsync($"{S}/exports/consensus.xlsx");
        using var book = new XLWorkbook(new MemoryStream(bytes));
        Assert.Equal(["About", "Round 1"], book.Worksheets.Select(w => w.Name));
        var sheet = book.Worksheet("Round 1");
        Assert.Equal(rows.Count, sheet.LastRowUsed()!.RowNumber() - 1);
        var a03 = sheet.RowsUsed().Single(r => r.Cell(2).GetString() == "A-T03" && r.Cell(4).GetString() == "importance");
        var stored = consensus["topics"]!.AsArray().Single(t => t!["code"]!.GetValue<string>() == "A-T03")!["questions"]!.AsArray()
            .Single(q => q!["question"]!.GetValue<string>() == "importance")!["summary"]!;
        Assert.Equal(stored["median"]!.GetValue<double>(), sheet.Cell(a03.RowNumber(), Col("median") + 1).GetDouble());
        Assert.Equal(stored["iqr"]!.GetValue<double>(), sheet.Cell(a03.RowNumber(), Col("iqr") + 1).GetDouble());
    }
}
