using System.Text.RegularExpressions;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Foresight.Browser.Tests;

/// <summary>
/// The machine layer from the console (issue 10): a coordinator uploads a Scopus export, runs an analysis, reviews the
/// proposals with their evidence and turns them into topics or rejects them, reads the evaluation; an expert then sees
/// the evidence of a machine topic, marked machine-generated.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class InsightsPageTests(BrowserFixture browser) : IDisposable
{
    readonly ForesightFactory _app = new();
    public void Dispose() => _app.Dispose();

    [Fact]
    public async Task A_coordinator_reviews_machine_proposals_in_the_console_and_an_expert_sees_the_evidence()
    {
        var address = _app.StartKestrel();
        var study = await QuickStudy.CreateAsync(_app, experts: 3, open: false);
        await using var context = await browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = address.ToString(), Locale = "en-US", ViewportSize = new ViewportSize { Width = 1280, Height = 900 },
        });
        var page = await context.NewPageAsync();
        var errors = new List<string>();
        page.Console += (_, m) => { if (m.Type == "error") errors.Add(m.Text); };
        await BrowserFixture.SignInAsync(page, "coordinator@test.local", "coordinator-password");
        await page.GotoAsync("/console/surveys/quick-start");
        await page.GetByRole(AriaRole.Link, new() { Name = "Data and machine analysis" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex("/console/surveys/quick-start/insights$"));

        // Upload: counts and the skipped rows with their lines.
        var file = Path.Combine(Directory.CreateTempSubdirectory("foresight-insights").FullName, "scopus.csv");
        // Over a megabyte (the default body limit of pages): the page takes exports as large as the API does.
        await File.WriteAllTextAsync(file, LiteratureExport.Scopus(perTheme: 30, abstractWords: 1500));
        Assert.True(new FileInfo(file).Length > 1024 * 1024);
        await page.Locator("#file").SetInputFilesAsync(file);
        await page.GetByRole(AriaRole.Button, new() { Name = "Import", Exact = true }).ClickAsync();
        await Expect(page.Locator("#imported")).ToContainTextAsync("90 records added, 1 duplicates, 2 bad rows skipped");
        await Expect(page.Locator("#imported")).ToContainTextAsync("Line 93");

        // An analysis with k = 3; its proposals join the review queue when it is done.
        await page.Locator("#k").FillAsync("3");
        await page.GetByRole(AriaRole.Button, new() { Name = "Run the analysis" }).ClickAsync();
        await Wait.UntilAsync(async () =>
        {
            if (await page.Locator("#analyses tr[data-status=done]").CountAsync() > 0) return true;
            await page.ReloadAsync();
            return false;
        }, "the analysis to be done", pollMs: 250);
        await Expect(page.Locator("article.proposal")).ToHaveCountAsync(3);
        await Expect(page.Locator("article.proposal").First).ToContainTextAsync("machine-generated");
        await browser.ShotAsync(page, "insights-review-queue");
        await Accessibility.AssertAccessibleAsync(page);

        // Accept the proposal on robots (its evidence names them), reject the deep-sea one.
        var robots = page.Locator("article.proposal").Filter(new() { HasText = "robot" }).First;
        var robotsId = await robots.GetAttributeAsync("data-proposal");
        await page.Locator($"#acode-{robotsId}").FillAsync("M-A1");
        await robots.GetByRole(AriaRole.Button, new() { Name = "Accept as proposed" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status).First).ToContainTextAsync("The proposal is a topic now.");
        var seabed = page.Locator("article.proposal").Filter(new() { HasText = "seabed" }).First;
        await seabed.GetByPlaceholder("Note").FillAsync("outside the study");
        await seabed.GetByRole(AriaRole.Button, new() { Name = "Reject (delete)" }).ClickAsync();
        await Expect(page.Locator("article.proposal")).ToHaveCountAsync(1);
        await Expect(page.Locator("#decision-log tbody tr")).ToHaveCountAsync(2);
        await Expect(page.Locator("#evaluation-table td[data-share=accepted]")).ToContainTextAsync("1 · 50 %");
        await Expect(page.Locator("#ari")).ToHaveTextAsync("1.000"); // one proposal in one field: nothing to disagree on
        await browser.ShotAsync(page, "insights-decided");

        // The topic list has the machine topic; round 1 shows its evidence to experts.
        await page.GotoAsync("/console/surveys/quick-start/topics");
        await Expect(page.Locator("#topic-M-A1")).ToContainTextAsync("machine-generated");
        await Api.OkAsync(await study.Coordinator.PostAsync($"{QuickStudy.S}/rounds", new StringContent("{}", System.Text.Encoding.UTF8, "application/json")));
        await using var phone = await browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = address.ToString(), Locale = "en-US", ViewportSize = new ViewportSize { Width = 390, Height = 844 }, IsMobile = true,
        });
        var expert = await phone.NewPageAsync();
        await expert.GotoAsync($"/x/{study.Secrets[0]}");
        await expert.GotoAsync("/survey/quick-start/topics/M-A1?lang=en");
        var evidence = expert.Locator("details.evidence");
        await evidence.Locator("summary").ClickAsync();
        await Expect(evidence).ToContainTextAsync("machine-generated");
        await Expect(evidence).ToContainTextAsync($"records");
        await browser.ShotAsync(expert, "insights-expert-evidence");
        await Accessibility.AssertAccessibleAsync(expert);
        Assert.Empty(errors);
    }
}
