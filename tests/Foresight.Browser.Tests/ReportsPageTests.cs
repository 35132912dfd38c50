using System.Net.Http.Json;
using Microsoft.Playwright;
using UglyToad.PdfPig;

namespace Foresight.Browser.Tests;

[Collection(BrowserCollection.Name)]
public sealed class ReportsPageTests(BrowserFixture browser) : IDisposable
{
    readonly ForesightFactory _app = new();
    public void Dispose() => _app.Dispose();

    [Fact]
    public async Task A_coordinator_publishes_a_round_report_and_a_stakeholder_downloads_it()
    {
        var address = _app.StartKestrel();
        var study = await QuickStudy.CreateAsync(_app, experts: 5);
        for (int e = 0; e < 5; e++)
            foreach (var topic in QuickStudy.Topics)
                await study.AnswerAsync(e, topic, QuickStudy.Answer(4 + e % 3));
        await study.CloseAsync(1);
        var admin = await _app.AdminAsync();
        await Api.OkAsync(await admin.PostAsJsonAsync("/api/users", new { email = "reader@test.local", name = "Reader", role = "stakeholder",
            password = "reader-password" }));
        await Api.OkAsync(await study.Coordinator.PostAsJsonAsync($"{QuickStudy.S}/stakeholders", new { email = "reader@test.local" }));

        // The coordinator sees both languages of the round-1 report rendering or rendered, and publishes the English one.
        await using var coordinatorContext = await browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = address.ToString(), Locale = "en-US" });
        var page = await coordinatorContext.NewPageAsync();
        await BrowserFixture.SignInAsync(page, "coordinator@test.local", "coordinator-password");
        await page.WaitForURLAsync("**/console", new() { WaitUntil = WaitUntilState.Commit });
        await page.GetByRole(AriaRole.Link, new() { Name = "Reports" }).ClickAsync();
        await page.WaitForURLAsync("**/reports", new() { WaitUntil = WaitUntilState.DOMContentLoaded });
        var englishRow = page.GetByRole(AriaRole.Row).Filter(new() { HasText = "Round 1 results" }).Filter(new() { HasText = "English" });
        await Wait.UntilAsync(async () =>
        {
            if (await englishRow.GetByRole(AriaRole.Cell, new() { Name = "ready" }).CountAsync() > 0) return true;
            await page.ReloadAsync();
            return false;
        }, "the English report to be ready on the reports page", pollMs: 500);
        Assert.Equal(1, await englishRow.GetByText("ready").CountAsync());
        await englishRow.GetByRole(AriaRole.Button, new() { Name = "Publish" }).ClickAsync();
        var link = await page.GetByRole(AriaRole.Status).GetByRole(AriaRole.Link).TextContentAsync();
        Assert.StartsWith("http://foresight.test/r/", link);
        Assert.Contains("published", await englishRow.TextContentAsync());
        await browser.ShotAsync(page, "reports-coordinator");

        // The stakeholder lands on the reports page, sees only the published report, and downloads it.
        await using var stakeholderContext = await browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = address.ToString(), Locale = "en-US",
            AcceptDownloads = true });
        var reader = await stakeholderContext.NewPageAsync();
        await BrowserFixture.SignInAsync(reader, "reader@test.local", "reader-password");
        await reader.WaitForURLAsync("**/reports", new() { WaitUntil = WaitUntilState.DOMContentLoaded });
        var rows = reader.GetByRole(AriaRole.Row).Filter(new() { HasText = "Round 1 results" });
        Assert.Equal(1, await rows.CountAsync());
        Assert.Equal(0, await reader.GetByRole(AriaRole.Button).Filter(new() { HasText = "Publish" }).CountAsync());
        await browser.ShotAsync(reader, "reports-stakeholder");
        var download = await reader.RunAndWaitForDownloadAsync(() => rows.GetByRole(AriaRole.Link, new() { Name = "PDF" }).ClickAsync());
        Assert.Equal("quick-start-round-1-en.pdf", download.SuggestedFilename);
        var path = Path.Combine(Path.GetTempPath(), $"foresight-download-{Guid.NewGuid():n}.pdf");
        await download.SaveAsAsync(path);
        using (var pdf = PdfDocument.Open(path))
            Assert.Contains("Round 1 results", string.Concat(pdf.GetPages().Select(p => p.Text)));
        File.Delete(path);

        // The web version opens in the browser with the report's stylesheet.
        await rows.GetByRole(AriaRole.Link, new() { Name = "Web page" }).ClickAsync();
        await reader.WaitForSelectorAsync("main.report nav.toc");
        Assert.Equal("rgb(27, 31, 36)", await reader.EvaluateAsync<string>("getComputedStyle(document.querySelector('main.report')).color"));
        await browser.ShotAsync(reader, "report-html");
    }
}
