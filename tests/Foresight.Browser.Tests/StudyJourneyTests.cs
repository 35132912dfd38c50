using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using UglyToad.PdfPig;
using static Microsoft.Playwright.Assertions;

namespace Foresight.Browser.Tests;

/// <summary>
/// A coordinator runs a two-round study entirely from the browser: upload the survey, import experts, build the
/// panel, open round 1, watch it, close it, decide, reword and merge topics, open round 2, moderate, close, select
/// the key technologies and publish the report; experts answer on phone-sized screens; a stakeholder downloads the PDF.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class StudyJourneyTests(BrowserFixture browser) : IDisposable
{
    readonly ForesightFactory _app = new();
    public void Dispose() => _app.Dispose();

    /// <summary>An expert answers every topic of the round on a phone, one topic per page.</summary>
    async Task AnswerAllAsync(IPage page, string link, int importance, int year, bool chinese)
    {
        await page.GotoAsync(link);
        await Expect(page).ToHaveURLAsync(new Regex("/survey/[^/]+$"));
        var start = page.Locator("a.button");
        if (await page.GetByRole(AriaRole.Link, new() { Name = chinese ? "开始前请先填写您的基本信息" : "Before you start" }).CountAsync() > 0)
        {
            await page.GetByRole(AriaRole.Link, new() { Name = chinese ? "开始前请先填写您的基本信息" : "Before you start" }).ClickAsync();
            await page.GetByLabel(chinese ? "高等院校" : "University").CheckAsync();
            await page.GetByLabel(chinese ? "东部地区" : "Eastern China").CheckAsync();
            await page.GetByRole(AriaRole.Button, new() { Name = chinese ? "保存" : "Save" }).ClickAsync();
            await Expect(page).ToHaveURLAsync(new Regex("/survey/[^/]+$"));
        }
        await start.ClickAsync();
        while (true)
        {
            await page.Locator("#q-familiarity").GetByLabel(chinese ? "熟悉" : "Familiar", new() { Exact = true }).CheckAsync();
            await page.Locator("#q-importance").GetByRole(AriaRole.Radio, new() { Name = importance.ToString(), Exact = true }).CheckAsync();
            await page.Locator("#q-feasibility").GetByRole(AriaRole.Radio, new() { Name = "7", Exact = true }).CheckAsync();
            await page.Locator("#a-realization_year").FillAsync(year.ToString());
            var next = page.GetByRole(AriaRole.Button, new() { Name = chinese ? "保存并继续" : "Save and continue" });
            if (await next.CountAsync() == 0)
            {
                await page.GetByRole(AriaRole.Button, new() { Name = chinese ? "保存并返回目录" : "Save and finish" }).ClickAsync();
                break;
            }
            await next.ClickAsync();
            await Expect(page.Locator("p.error[role=alert], div.error")).ToHaveCountAsync(0);
        }
        await Expect(page.Locator(".notice[role=status]")).ToContainTextAsync(chinese ? "您已完成全部课题" : "You have answered every topic");
    }

    [Fact]
    public async Task A_coordinator_runs_a_two_round_study_from_the_browser_while_experts_answer_on_phones()
    {
        var address = _app.StartKestrel();
        await _app.NewCoordinatorAsync();
        var admin = await _app.AdminAsync();
        await Api.OkAsync(await admin.PostAsJsonAsync("/api/users", new { email = "reader@test.local", name = "Reader", role = "stakeholder",
            password = "reader-password" }));
        await using var desk = await browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = address.ToString(), Locale = "en-US", ViewportSize = new ViewportSize { Width = 1280, Height = 900 },
        });
        var page = await desk.NewPageAsync();
        var errors = new List<string>();
        // Script errors only: the broken survey file is answered 400 on purpose.
        page.Console += (_, m) => { if (m.Type == "error" && !m.Text.Contains("status of 400")) errors.Add(m.Text); };
        await BrowserFixture.SignInAsync(page, "coordinator@test.local", "coordinator-password");
        await Expect(page).ToHaveURLAsync(new Regex("/console$"));

        // A survey file with a mistake is refused with its line and column; the good one creates the survey.
        var dir = Directory.CreateTempSubdirectory("foresight-journey").FullName;
        var yaml = await File.ReadAllTextAsync(Path.Combine(Repository.Root(), "surveys/quick-start.yaml"));
        var broken = Path.Combine(dir, "broken.yaml");
        await File.WriteAllTextAsync(broken, yaml.Replace("kind: rating", "kind: ratting"));
        await page.Locator("#survey-file").SetInputFilesAsync(broken);
        await page.GetByRole(AriaRole.Button, new() { Name = "Upload" }).ClickAsync();
        await Expect(page.Locator("#error")).ToContainTextAsync(new Regex(@"broken\.yaml:\d+:\d+"));
        await browser.ShotAsync(page, "console-upload-error");
        await page.Locator("#survey-file").SetInputFilesAsync(Path.Combine(Repository.Root(), "surveys/quick-start.yaml"));
        await page.GetByRole(AriaRole.Button, new() { Name = "Upload" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex("/console/surveys/quick-start$"));

        // The expert pool from a CSV file, then the panel with their fields; the personal links are shown once.
        await page.GetByRole(AriaRole.Link, new() { Name = "Experts and panel" }).ClickAsync();
        var csv = Path.Combine(dir, "experts.csv");
        await File.WriteAllLinesAsync(csv, new[] { "name,email,organisation,org_type,region,work,expertise,language" }
            .Concat(Enumerable.Range(0, 6).Select(e => $"Expert {e},expert{e}@test.local,Institute {e},UNI,CN_EAST,RES,Q;A,{(e == 1 ? "en" : "zh-CN")}")));
        await page.Locator("#csv").SetInputFilesAsync(csv);
        await page.GetByRole(AriaRole.Button, new() { Name = "Import experts (CSV)" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("6 added");
        for (int e = 0; e < 6; e++) await page.GetByLabel($"Expert {e}", new() { Exact = true }).CheckAsync();
        await page.Locator("#add-field-Q").CheckAsync();
        await page.Locator("#add-field-A").CheckAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Add to the panel" }).ClickAsync();
        var links = await page.Locator("#links a.invitation").AllTextContentsAsync();
        Assert.Equal(6, links.Count);
        await browser.ShotAsync(page, "console-panel-links");
        await Accessibility.AssertAccessibleAsync(page);
        var secrets = links.Select(l => l[(l.LastIndexOf('/') + 1)..]).ToList();

        // Round 1 opens with a deadline.
        await page.GetByRole(AriaRole.Link, new() { Name = "Overview and rounds" }).ClickAsync();
        await page.Locator("#deadline").FillAsync(DateTime.UtcNow.AddDays(3).ToString("yyyy-MM-ddTHH:mm"));
        await page.GetByRole(AriaRole.Button, new() { Name = "Open round 1" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("The round is open");
        await Expect(page.Locator("#rounds tr[data-round='1']")).ToHaveAttributeAsync("data-status", "open");

        // The live dashboard is open while experts answer: two on phones (Chinese and English), four through the API.
        var live = await desk.NewPageAsync();
        await live.GotoAsync("/console/surveys/quick-start/live");
        await live.WaitForSelectorAsync("#connection[data-state=connected]");
        await using var phoneZh = await browser.NewContextAsync(ExpertPagesTests.Phone(address, "zh-CN"));
        await using var phoneEn = await browser.NewContextAsync(ExpertPagesTests.Phone(address, "en-GB"));
        var expertZh = await phoneZh.NewPageAsync();
        var expertEn = await phoneEn.NewPageAsync();
        await AnswerAllAsync(expertZh, "/x/" + secrets[0], importance: 6, year: 2035, chinese: true);
        await Expect(live.Locator("#responded")).ToHaveTextAsync("1");
        await AnswerAllAsync(expertEn, "/x/" + secrets[1], importance: 3, year: 2040, chinese: false);
        int[] importance = [0, 0, 7, 6, 2, 5];
        for (int e = 2; e < 6; e++)
        {
            var api = _app.WithToken(secrets[e]);
            foreach (var topic in QuickStudy.Topics)
                await Api.OkAsync(await api.PutAsJsonAsync($"{QuickStudy.S}/questionnaire/topics/{topic}",
                    QuickStudy.Answer(importance[e], year: 2030 + 3 * e)));
        }
        await Expect(live.Locator("#responded")).ToHaveTextAsync("6");
        await Expect(live.Locator("#topic-Q-T01 [data-col=n]")).ToHaveTextAsync("6");
        await browser.ShotAsync(live, "console-live-round1");
        await Accessibility.AssertAccessibleAsync(live);

        // An expert writes a topic message; the coordinator hides it.
        await expertZh.GotoAsync("/survey/quick-start/topics/Q-T02");
        await expertZh.GetByLabel("写留言").FillAsync("请注意：这里有我的手机号 13800000000");
        await expertZh.GetByRole(AriaRole.Button, new() { Name = "发表留言" }).ClickAsync();
        await Expect(expertZh.Locator("ol.messages")).ToContainTextAsync("13800000000");
        await page.GetByRole(AriaRole.Link, new() { Name = "Messages" }).ClickAsync();
        await page.GetByPlaceholder("Reason for hiding").FillAsync("personal data");
        await page.GetByRole(AriaRole.Button, new() { Name = "hide" }).ClickAsync();
        await Expect(page.Locator("ol.messages li").First).ToHaveAttributeAsync("data-hidden", "true");
        await expertEn.GotoAsync("/survey/quick-start/topics/Q-T02");
        await Expect(expertEn.Locator("#messages-title")).ToContainTextAsync("(0)");

        // Round 1 closes; between rounds the coordinator decides, rewords one topic and merges two.
        await page.GetByRole(AriaRole.Link, new() { Name = "Overview and rounds" }).ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Close round 1" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("The round is closed");
        await page.GetByRole(AriaRole.Link, new() { Name = "Topics" }).ClickAsync();
        await browser.ShotAsync(page, "console-topics-between-rounds");
        await Accessibility.AssertAccessibleAsync(page);
        var row = page.Locator("#topic-Q-T03");
        await row.Locator("select[name=decision]").SelectOptionAsync("retire");
        await row.GetByRole(AriaRole.Button, new() { Name = "Decide" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("The decision is saved");
        await Expect(page.Locator("#topic-Q-T03")).ToContainTextAsync("→ retire");
        await page.Locator("#topic-Q-T01 summary", new() { HasText = "Reword" }).ClickAsync();
        await page.Locator("#title-en-Q-T01").FillAsync("A fault-tolerant general-purpose quantum computer prototype with 100 logical qubits is built");
        await page.Locator("#reason-Q-T01").FillAsync("Experts asked for a measurable target");
        await page.Locator("#topic-Q-T01").GetByRole(AriaRole.Button, new() { Name = "Save" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("earlier wording is kept");
        await page.Locator("#merge-A-T01").CheckAsync();
        await page.Locator("#merge-A-T02").CheckAsync();
        await page.Locator("#merge-code").FillAsync("A-M1");
        await page.Locator("#merge-field").SelectOptionAsync("A");
        await page.Locator("#merge-zh").FillAsync("通用人工智能基础模型与行业大模型");
        await page.Locator("#merge-en").FillAsync("General-purpose AI foundation models and industry models");
        await page.GetByRole(AriaRole.Button, new() { Name = "Merge topics" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("The topics are merged");
        await Expect(page.Locator("#topic-A-M1")).ToContainTextAsync("A-T01, A-T02");

        // Round 2: the expert sees the reworded topic with round 1's feedback and the merged topic.
        await page.GetByRole(AriaRole.Link, new() { Name = "Overview and rounds" }).ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Open round 2" }).ClickAsync();
        await Expect(page.Locator("#rounds tr[data-round='2']")).ToHaveAttributeAsync("data-status", "open");
        await expertEn.GotoAsync("/survey/quick-start/topics/Q-T01");
        await Expect(expertEn.Locator("h1")).ToContainTextAsync("100 logical qubits");
        await Expect(expertEn.Locator("#q-importance .feedback")).ToContainTextAsync("Round 1 result");
        await Expect(expertEn.Locator("#q-importance .feedback")).ToContainTextAsync("Your previous answer: 3");
        await browser.ShotAsync(expertEn, "expert-round2-feedback-phone-en");
        await Accessibility.AssertAccessibleAsync(expertEn);
        Assert.Equal(0, await expertEn.Locator("a[href$='/topics/Q-T03']").CountAsync());
        await expertEn.GotoAsync("/survey/quick-start/topics/A-M1");
        await Expect(expertEn.Locator(".note").First).ToContainTextAsync("merges the earlier topics A-T01, A-T02");
        await expertEn.GotoAsync("/survey/quick-start/topics/Q-T01");
        await expertEn.Locator("#q-importance").GetByRole(AriaRole.Radio, new() { Name = "5", Exact = true }).CheckAsync();
        await expertEn.Locator("#autosave[data-state='q.js.saved'], #autosave[data-state='q.js.invalid']").WaitForAsync();
        await expertEn.Locator("#r-importance").FillAsync("Closer to the group after reading the arguments.");
        await expertEn.Locator("#r-realization_year").FillAsync("Engineering is the bottleneck.");
        await expertEn.GetByRole(AriaRole.Button, new() { Name = "Save", Exact = true }).ClickAsync();
        await Expect(expertEn.GetByRole(AriaRole.Status).First).ToContainTextAsync("Saved.");

        // Round 2 closes; the key technologies are selected and the report is published to the stakeholder.
        await page.GetByRole(AriaRole.Button, new() { Name = "Close round 2" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("The round is closed");
        await page.GetByRole(AriaRole.Link, new() { Name = "Key technologies" }).ClickAsync();
        await page.Locator("#pick-Q-T01").CheckAsync();
        await page.Locator("#pick-A-M1").CheckAsync();
        await page.Locator("#note-Q-T01").FillAsync("Strategic");
        await page.Locator("#criteria").FillAsync("Importance index of 60 or more, and strategic for national security.");
        await page.GetByRole(AriaRole.Button, new() { Name = "Record the selection" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("recorded");
        await Expect(page.Locator("section.card")).ToContainTextAsync("Strategic");
        await browser.ShotAsync(page, "console-key-technologies");
        await Accessibility.AssertAccessibleAsync(page);

        await page.GetByRole(AriaRole.Link, new() { Name = "Overview and rounds" }).ClickAsync();
        await page.GetByLabel("Account e-mail").FillAsync("reader@test.local");
        await page.GetByRole(AriaRole.Button, new() { Name = "Grant access" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("Access granted");
        await browser.ShotAsync(page, "console-overview");
        await Accessibility.AssertAccessibleAsync(page);
        await page.GetByRole(AriaRole.Link, new() { Name = "Reports" }).First.ClickAsync();
        var englishRow = page.GetByRole(AriaRole.Row).Filter(new() { HasText = "Round 2 results" }).Filter(new() { HasText = "English" });
        await Wait.UntilAsync(async () =>
        {
            if (await englishRow.GetByText("ready").CountAsync() > 0) return true;
            await page.ReloadAsync();
            return false;
        }, "the English report of round 2 to be ready", pollMs: 500);
        await englishRow.GetByRole(AriaRole.Button, new() { Name = "Publish" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status).GetByRole(AriaRole.Link)).ToContainTextAsync("/r/");

        await using var readerContext = await browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = address.ToString(), Locale = "en-US",
            AcceptDownloads = true });
        var reader = await readerContext.NewPageAsync();
        await BrowserFixture.SignInAsync(reader, "reader@test.local", "reader-password");
        await Expect(reader).ToHaveURLAsync(new Regex("/reports$"));
        var published = reader.GetByRole(AriaRole.Row).Filter(new() { HasText = "Round 2 results" });
        var download = await reader.RunAndWaitForDownloadAsync(() => published.GetByRole(AriaRole.Link, new() { Name = "PDF" }).ClickAsync());
        var pdfPath = Path.Combine(dir, "report.pdf");
        await download.SaveAsAsync(pdfPath);
        using (var pdf = PdfDocument.Open(pdfPath))
        {
            var text = string.Concat(pdf.GetPages().Select(p => p.Text));
            Assert.Contains("Round 2 results", text);
            Assert.Contains("100 logical qubits", text);
        }
        Assert.True(errors.Count == 0, string.Join("\n", errors));
    }
}
