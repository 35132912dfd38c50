using System.Text.Json;
using Microsoft.Playwright;

namespace Foresight.Browser.Tests;

/// <summary>
/// Runs axe-core (from npm) in the page and fails on serious or critical WCAG 2 A/AA violations: missing labels,
/// contrast, focus order problems, invalid ARIA.
/// </summary>
public static class Accessibility
{
    static readonly string Script = File.ReadAllText(Path.Combine(ProjectDirectory(), "node_modules", "axe-core", "axe.min.js"));

    public static async Task AssertAccessibleAsync(IPage page)
    {
        await page.EvaluateAsync(Script);
        var json = await page.EvaluateAsync<JsonElement>("""
            async () => {
              const r = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
              return r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
                .map(v => v.id + ': ' + v.help + ' — ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | '));
            }
            """);
        var problems = json.EnumerateArray().Select(e => e.GetString()).ToList();
        Assert.True(problems.Count == 0, $"{page.Url}:\n" + string.Join("\n", problems));
    }

    static string ProjectDirectory()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Foresight.Browser.Tests.csproj"))) return dir.FullName;
        throw new DirectoryNotFoundException("Foresight.Browser.Tests");
    }
}
