using System.Text.Json.Nodes;
using Microsoft.Playwright;

namespace Foresight.Browser.Tests;

[Collection(BrowserCollection.Name)]
public sealed class DashboardTests(BrowserFixture browser, Xunit.Abstractions.ITestOutputHelper output) : IDisposable
{
    readonly ForesightFactory _app = new();
    public void Dispose() => _app.Dispose();

    [Fact]
    public async Task The_coordinators_dashboard_changes_in_place_as_answers_arrive()
    {
        var address = _app.StartKestrel();
        var study = await QuickStudy.CreateAsync(_app, experts: 5);
        await using var context = await browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = address.ToString(), Locale = "en-US" });
        var page = await context.NewPageAsync();
        var errors = new List<string>();
        page.Console += (_, m) => { if (m.Type == "error") errors.Add(m.Text + " " + m.Location); };

        // Signing in through the form.
        await page.GotoAsync("/console");
        Assert.EndsWith("/signin?ReturnUrl=%2Fconsole", page.Url);
        await page.GetByLabel("E-mail").FillAsync("coordinator@test.local");
        await page.GetByLabel("Password").FillAsync("coordinator-password");
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        // Until the navigation commits, not until "load": on a busy machine the load event of this redirect once went
        // unseen for 3 minutes (the page itself had loaded). The next steps wait for their own elements.
        await page.WaitForURLAsync("**/console", new() { WaitUntil = WaitUntilState.Commit });
        await page.GetByRole(AriaRole.Link, new() { Name = "Live dashboard" }).WaitForAsync();
        await browser.ShotAsync(page, "console-surveys");
        await page.GetByRole(AriaRole.Link, new() { Name = "Live dashboard" }).ClickAsync();
        await page.WaitForSelectorAsync("#connection[data-state=connected]");

        // Each answer shows in its topic's row, on the page as it is (no reload). How soon is written to the output,
        // not checked: a busy machine makes any bound wrong, and LiveBenchmark (tests/Foresight.Benchmarks) measures
        // it. The delay is taken from the page's own stamp of the change (same clock as the test's), not from when
        // Playwright, a process further, reports it.
        var latencies = new List<double>();
        int[] importance = [6, 7, 7, 6, 7];
        for (int e = 0; e < 5; e++)
        {
            await study.AnswerAsync(e, "Q-T01", QuickStudy.Answer(importance[e]));
            var acked = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            // A selector, not a function: the page's CSP forbids the eval a string predicate needs.
            await page.WaitForSelectorAsync($"#topic-Q-T01[data-respondents='{e + 1}']", new() { State = WaitForSelectorState.Attached });
            var shown = long.Parse((await page.Locator("#topic-Q-T01").GetAttributeAsync("data-updated-at"))!);
            latencies.Add(shown - acked);
        }
        output.WriteLine($"updates shown {string.Join(", ", latencies.Select(ms => ms.ToString("0")))} ms after the answers were acknowledged");

        var row = page.Locator("#topic-Q-T01");
        var stored = await study.Coordinator.GetOkAsync($"{QuickStudy.S}/rounds/1/consensus");
        var q = stored["topics"]![0]!["questions"]!.AsArray().Single(x => x!["question"]!.GetValue<string>() == "importance")!["summary"]!;
        Assert.Equal(q["median"]!.GetValue<double>().ToString(), (await row.Locator("[data-col=median]").TextContentAsync())!.Trim());
        Assert.Equal("5", (await row.Locator("[data-col=n]").TextContentAsync())!.Trim());
        Assert.Equal("100%", (await row.Locator("[data-col=agree]").TextContentAsync())!.Trim());
        Assert.Equal("1", (await row.Locator("[data-col=iqr]").TextContentAsync())!.Trim());
        Assert.Equal("consensus", (await row.Locator("[data-col=state]").TextContentAsync())!.Trim());
        Assert.Equal(1, await row.Locator("svg rect").CountAsync() > 0 ? 1 : 0);
        Assert.Equal("5", (await page.Locator("#responded").TextContentAsync())!.Trim());
        await browser.ShotAsync(page, "console-live-dashboard");
        Assert.True(errors.Count == 0, string.Join("\n", errors));
    }
}
