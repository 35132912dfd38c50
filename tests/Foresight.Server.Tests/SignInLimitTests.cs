using System.Net;
using System.Net.Http.Json;
using System.Text.RegularExpressions;

namespace Foresight.Server.Tests;

/// <summary>Password guessing is limited per client address on the API and on the sign-in page alike (issue 22).</summary>
public sealed class SignInLimitTests : IDisposable
{
    readonly ForesightFactory _app = new ForesightFactory().With("Foresight:RateLimits:SignInPerMinute", "3");

    public void Dispose() => _app.Dispose();

    /// <summary>A wrong password posted through the page's form, with the form's antiforgery token.</summary>
    async Task<HttpResponseMessage> PostPageAsync(HttpClient client, string lang = "en")
    {
        var page = await client.GetAsync($"/signin?lang={lang}");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        var html = await page.Content.ReadAsStringAsync();
        var token = Regex.Match(html, "name=\"__RequestVerificationToken\" type=\"hidden\" value=\"([^\"]+)\"").Groups[1].Value;
        var cookies = string.Join("; ", page.Headers.GetValues("Set-Cookie").Select(c => c.Split(';')[0]));
        var request = new HttpRequestMessage(HttpMethod.Post, "/signin")
        {
            Content = new FormUrlEncodedContent([new("__RequestVerificationToken", token), new("Email", ForesightFactory.AdminEmail),
                new("Password", "wrong-guess")]),
        };
        request.Headers.Add("Cookie", cookies);
        return await client.SendAsync(request);
    }

    [Fact]
    public async Task The_sign_in_page_form_is_limited_and_says_how_long_to_wait()
    {
        var client = _app.Anonymous();
        for (int i = 0; i < 3; i++) Assert.Equal(HttpStatusCode.Unauthorized, (await PostPageAsync(client)).StatusCode);
        var limited = await PostPageAsync(client);
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        var retry = int.Parse(limited.Headers.GetValues("Retry-After").Single());
        Assert.InRange(retry, 1, 60);
        Assert.Equal("text/html", limited.Content.Headers.ContentType?.MediaType);
        Assert.Contains($"Try again in {retry} seconds", await limited.Content.ReadAsStringAsync());
        // The page itself still opens; the API's sign-in shares the same count.
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/signin")).StatusCode);
        var api = await client.PostAsJsonAsync("/api/auth/signin", new { email = ForesightFactory.AdminEmail, password = ForesightFactory.AdminPassword });
        var problem = await Api.ProblemAsync(api, HttpStatusCode.TooManyRequests);
        Assert.True(api.Headers.RetryAfter is not null, "the API's 429 has no Retry-After");
        Assert.Contains("seconds", problem["detail"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_person_is_told_in_their_language()
    {
        var client = _app.Anonymous();
        HttpResponseMessage last = null!;
        for (int i = 0; i < 4; i++) last = await PostPageAsync(client, "zh-CN");
        Assert.Equal(HttpStatusCode.TooManyRequests, last.StatusCode);
        Assert.Contains("登录尝试过多", await last.Content.ReadAsStringAsync());
    }
}
