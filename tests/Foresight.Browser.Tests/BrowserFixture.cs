using Microsoft.Playwright;

namespace Foresight.Browser.Tests;

/// <summary>
/// One chromium for the test run: Debian's /usr/bin/chromium (Playwright never downloads a browser here), headless,
/// with the flags that keep it quiet on a closed network. Screenshots go to artifacts/screenshots at the repository root.
/// </summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    public const string Chromium = "/usr/bin/chromium";
    IPlaywright? _playwright;
    public IBrowser Browser { get; private set; } = null!;
    public string Screenshots { get; } = Path.Combine(Repository.Root(), "artifacts", "screenshots");

    public async Task InitializeAsync()
    {
        // Playwright's waits (5 s for an expectation, 30 s for an action) are guards against a hang here, not speeds: a
        // page on a busy machine may take longer to change, and is waited for.
        Assertions.SetDefaultExpectTimeout(Timeout);
        Directory.CreateDirectory(Screenshots);
        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run"],
        });
    }

    public async Task DisposeAsync()
    {
        await Browser.DisposeAsync();
        _playwright?.Dispose();
    }

    static readonly float Timeout = (float)Wait.Guard.TotalMilliseconds;

    /// <summary>A browser context whose actions and navigations wait as long as <see cref="Wait.Guard"/>.</summary>
    public async Task<IBrowserContext> NewContextAsync(BrowserNewContextOptions? options = null)
    {
        var context = await Browser.NewContextAsync(options);
        context.SetDefaultTimeout(Timeout);
        context.SetDefaultNavigationTimeout(Timeout);
        return context;
    }

    /// <summary>A page in a context of its own, as <see cref="IBrowser.NewPageAsync"/>, with the same waits.</summary>
    public async Task<IPage> NewPageAsync()
    {
        var page = await Browser.NewPageAsync();
        page.SetDefaultTimeout(Timeout);
        page.SetDefaultNavigationTimeout(Timeout);
        return page;
    }

    public async Task ShotAsync(IPage page, string name) =>
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Screenshots, name + ".png"), FullPage = true });

    public static async Task SignInAsync(IPage page, string email, string password)
    {
        await page.GotoAsync("/signin");
        await page.GetByLabel("E-mail").FillAsync(email);
        await page.GetByLabel("Password").FillAsync(password);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class BrowserCollection : ICollectionFixture<BrowserFixture>
{
    public const string Name = "browser";
}
