using System.Net;
using System.Text.RegularExpressions;

namespace Foresight.Server.Tests;

public sealed class OpenApiTests : IDisposable
{
    readonly ForesightFactory _app = new();
    public void Dispose() => _app.Dispose();

    [Fact]
    public async Task The_api_is_described_and_browsable_without_a_cdn()
    {
        var client = _app.Anonymous();
        var doc = await client.GetOkAsync("/openapi/v1.json");
        var paths = doc["paths"]!.AsObject().Select(p => p.Key).ToList();
        foreach (var path in new[] { "/api/surveys", "/api/surveys/{survey}/rounds", "/api/surveys/{survey}/questionnaire/topics/{code}", "/api/experts/import",
            "/api/surveys/{survey}/exports/answers.csv" })
            Assert.Contains(path, paths);
        Assert.True(paths.Count > 30);

        var page = await client.GetStringAsync("/scalar/");
        Assert.DoesNotContain("cdn.jsdelivr", page);
        foreach (Match m in Regex.Matches(page, "src=\"([^\"]+)\""))
        {
            var src = m.Groups[1].Value;
            Assert.False(src.StartsWith("http"), $"script from elsewhere: {src}");
            var script = await client.GetAsync(new Uri(new Uri("http://localhost/scalar/"), src));
            Assert.Equal(HttpStatusCode.OK, script.StatusCode);
        }
    }
}
