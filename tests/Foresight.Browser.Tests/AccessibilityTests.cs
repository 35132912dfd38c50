using Microsoft.Playwright;

namespace Foresight.Browser.Tests;

[Collection(BrowserCollection.Name)]
public sealed class AccessibilityTests(BrowserFixture browser)
{
    /// <summary>The checker itself: a page with an unlabelled field and low-contrast text must fail it.</summary>
    [Fact]
    public async Task The_accessibility_check_finds_a_missing_label_and_low_contrast()
    {
        var page = await browser.NewPageAsync();
        await page.SetContentAsync(
            "<html lang=en><head><title>t</title></head><body><main><input type=text><p style='color:#bbb;background:#fff'>faint</p></main></body></html>");
        var failure = await Assert.ThrowsAsync<Xunit.Sdk.TrueException>(() => Accessibility.AssertAccessibleAsync(page));
        Assert.Contains("label", failure.Message);
        Assert.Contains("color-contrast", failure.Message);
        await page.CloseAsync();
    }
}
