using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.RegularExpressions;
using Dapper;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Data.Sqlite;

namespace Foresight.Server.Tests;

/// <summary>Secrets at rest, cookies, antiforgery, security headers and rate limits.</summary>
public sealed class WebSecurityTests : IDisposable
{
    readonly ForesightFactory _app = new();

    public void Dispose() => _app.Dispose();

    [Fact]
    public async Task No_password_token_or_invitation_secret_is_stored_in_the_clear()
    {
        var study = await QuickStudy.CreateAsync(_app, experts: 3);
        var token = study.Coordinator.DefaultRequestHeaders.Authorization!.Parameter!;
        var renewed = (await study.Coordinator.PostOkAsync($"{QuickStudy.S}/panel/{study.Members[1]}/link"))["secret"]!.GetValue<string>();
        string[] secrets = [.. study.Secrets, renewed, token, "coordinator-password", ForesightFactory.AdminPassword];

        // Invitation secrets carry at least 128 random bits (base64url: 6 bits a character), all different.
        Assert.All(study.Secrets.Append(renewed), s => Assert.True(s.Length * 6 >= 128 && Regex.IsMatch(s, "^[A-Za-z0-9_-]+$"), s));
        Assert.Equal(4, study.Secrets.Append(renewed).Distinct().Count());

        await using var c = new SqliteConnection($"Data Source={_app.DatabasePath};Mode=ReadOnly;Pooling=False");
        await c.OpenAsync();
        var everything = new StringBuilder();
        foreach (var table in await c.QueryAsync<string>("SELECT name FROM sqlite_master WHERE type = 'table'"))
            foreach (IDictionary<string, object?> row in await c.QueryAsync($"SELECT * FROM \"{table}\""))
                everything.AppendJoin('\u0001', row.Values.Select(v => v is byte[] b ? Encoding.UTF8.GetString(b) : v?.ToString())).Append('\n');
        var text = everything.ToString();
        Assert.All(secrets, s => Assert.DoesNotContain(s, text));

        // Passwords: ASP.NET Core Identity's PasswordHasher (format v3: PBKDF2 with a salt), verified against the clear text.
        var hash = await c.QuerySingleAsync<string>("SELECT password_hash FROM users WHERE email = 'coordinator@test.local'");
        Assert.Equal(0x01, Convert.FromBase64String(hash)[0]); // the format marker of v3
        var hasher = new Microsoft.AspNetCore.Identity.PasswordHasher<object>();
        Assert.NotEqual(Microsoft.AspNetCore.Identity.PasswordVerificationResult.Failed, hasher.VerifyHashedPassword(null!, hash, "coordinator-password"));
    }

    [Fact]
    public async Task Every_answer_carries_the_security_headers_and_pages_have_no_inline_script()
    {
        var study = await QuickStudy.CreateAsync(_app, experts: 1);
        var responses = new List<(string What, HttpResponseMessage Response)>
        {
            ("sign-in page", await _app.Anonymous().GetAsync("/signin")),
            ("console page", await study.Coordinator.GetAsync("/console/surveys/quick-start")),
            ("live dashboard", await study.Coordinator.GetAsync("/console/surveys/quick-start/live")),
            ("expert topic page", await study.Experts[0].GetAsync("/survey/quick-start/topics/Q-T01?lang=en")),
            ("API JSON", await study.Coordinator.GetAsync($"{QuickStudy.S}/rounds")),
            ("problem", await study.Coordinator.GetAsync($"{QuickStudy.S}/rounds/9")),
            ("static file", await _app.Anonymous().GetAsync("/js/questionnaire.js")),
        };
        foreach (var (what, r) in responses)
        {
            var csp = string.Join(";", r.Headers.GetValues("Content-Security-Policy"));
            Assert.Contains("frame-ancestors 'none'", csp);
            Assert.Matches("script-src 'self'(;|$)", csp);
            Assert.DoesNotContain("unsafe", csp);
            Assert.Equal("nosniff", r.Headers.GetValues("X-Content-Type-Options").Single());
            Assert.Equal("DENY", r.Headers.GetValues("X-Frame-Options").Single());
            Assert.Equal("no-referrer", r.Headers.GetValues("Referrer-Policy").Single());
            Assert.True(r.Headers.Contains("Permissions-Policy"), what);
            if (r.Content.Headers.ContentType?.MediaType == "text/html")
            {
                var html = await r.Content.ReadAsStringAsync();
                // Every script is a file of our own; no inline script, no event-handler attributes.
                Assert.DoesNotMatch(new Regex("<script(?![^>]*\\bsrc=\"/)[^>]*>", RegexOptions.IgnoreCase), html);
                Assert.DoesNotMatch(new Regex("\\son[a-z]+\\s*=", RegexOptions.IgnoreCase), html);
                Assert.DoesNotContain("style=\"", html);
            }
        }
        // What a signed-in caller is shown is never kept in a cache.
        Assert.Contains("no-store", responses.Single(r => r.What == "API JSON").Response.Headers.CacheControl!.ToString());
        Assert.Contains("no-store", responses.Single(r => r.What == "expert topic page").Response.Headers.CacheControl!.ToString());
    }

    [Fact]
    public async Task The_session_cookie_is_secure_and_an_api_call_riding_on_it_needs_the_antiforgery_token()
    {
        var study = await QuickStudy.CreateAsync(_app, experts: 1);
        var browser = _app.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = true,
            BaseAddress = new Uri("https://localhost") });

        // The sign-in page: the session cookie is Secure, HttpOnly, SameSite=Lax; the antiforgery cookie HttpOnly, SameSite=Strict.
        var form = await browser.GetAsync("/signin");
        var afCookie = form.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("foresight-af="));
        Assert.Contains("httponly", afCookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", afCookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("secure", afCookie, StringComparison.OrdinalIgnoreCase);
        var afToken = Regex.Match(await form.Content.ReadAsStringAsync(),
            "name=\"__RequestVerificationToken\" type=\"hidden\" value=\"([^\"]+)\"").Groups[1].Value;

        // A form without its token is refused by the page.
        var forged = await browser.PostAsync("/signin", new FormUrlEncodedContent([new("Email", "coordinator@test.local"),
            new("Password", "coordinator-password")]));
        Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);
        var signedIn = await browser.PostAsync("/signin", new FormUrlEncodedContent(
            [new("Email", "coordinator@test.local"), new("Password", "coordinator-password"), new("__RequestVerificationToken", afToken)]));
        Assert.Equal(HttpStatusCode.Redirect, signedIn.StatusCode);
        var session = signedIn.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("foresight="));
        Assert.Contains("; secure", session, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("; httponly", session, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=lax", session, StringComparison.OrdinalIgnoreCase);

        // With the cookie alone, reading works but changing does not (what another site could make a browser send)...
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync($"{QuickStudy.S}/rounds")).StatusCode);
        var deadline = new { deadline = DateTimeOffset.UtcNow.AddDays(3).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'") };
        var refused = await browser.PutAsJsonAsync($"{QuickStudy.S}/rounds/1/deadline", deadline);
        var problem = await Api.ProblemAsync(refused, HttpStatusCode.BadRequest);
        Assert.Contains("antiforgery", problem["detail"]!.GetValue<string>());
        Assert.Null((await study.Coordinator.GetOkAsync($"{QuickStudy.S}/rounds/1"))["deadline"]);

        // ...until the page's token comes with it (a page script would send it in X-CSRF-Token).
        var page = await browser.GetAsync("/console");
        var pageToken = Regex.Match(await page.Content.ReadAsStringAsync(),
            "name=\"__RequestVerificationToken\" type=\"hidden\" value=\"([^\"]+)\"").Groups[1].Value;
        var request = new HttpRequestMessage(HttpMethod.Put, $"{QuickStudy.S}/rounds/1/deadline") { Content = JsonContent.Create(deadline) };
        request.Headers.Add("X-CSRF-Token", pageToken);
        await Api.OkAsync(await browser.SendAsync(request));
        Assert.NotNull((await study.Coordinator.GetOkAsync($"{QuickStudy.S}/rounds/1"))["deadline"]);

        // A bearer token needs none: no browser sends it by itself.
        await Api.OkAsync(await study.Coordinator.PutAsJsonAsync($"{QuickStudy.S}/rounds/1/deadline", deadline));
    }

    /// <summary>
    /// Issue 22: the API reference and the jobs dashboard sent script-src 'unsafe-inline'. Now Hangfire's pages (which
    /// load their scripts from files) get script-src 'self' alone, and Scalar's one inline script is allowed by a nonce
    /// that is new on every answer. Neither page has an event-handler attribute, which no nonce could allow.
    /// </summary>
    [Fact]
    public async Task The_api_reference_and_the_jobs_dashboard_run_no_inline_script_but_scalars_own_by_its_nonce()
    {
        var admin = await _app.AdminAsync();
        var nonces = new List<string>();
        for (int i = 0; i < 2; i++)
        {
            var scalar = await _app.Anonymous().GetAsync("/scalar/");
            Assert.Equal(HttpStatusCode.OK, scalar.StatusCode);
            var scriptSrc = Directive(scalar, "script-src");
            Assert.DoesNotContain("unsafe", scriptSrc);
            var nonce = Regex.Match(scriptSrc, "^script-src 'self' 'nonce-([A-Za-z0-9+/=_-]+)'$").Groups[1].Value;
            Assert.True(nonce.Length >= 16, $"no nonce of 128 bits or more in '{scriptSrc}'");
            nonces.Add(nonce);
            var html = await scalar.Content.ReadAsStringAsync();
            var scripts = Regex.Matches(html, "<script([^>]*)>").Select(m => m.Groups[1].Value).ToList();
            Assert.Contains(scripts, a => !a.Contains("src="));
            Assert.All(scripts, a => Assert.Contains($"nonce=\"{nonce}\"", a));
            Assert.DoesNotMatch(new Regex("\\son[a-z]+\\s*=", RegexOptions.IgnoreCase), html);
            Assert.Contains("frame-ancestors 'none'", Csp(scalar));
        }
        Assert.NotEqual(nonces[0], nonces[1]);

        foreach (var path in new[] { "/hangfire", "/hangfire/jobs/succeeded", "/hangfire/recurring", "/hangfire/servers" })
        {
            var page = await admin.GetAsync(path);
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);
            Assert.Equal("script-src 'self'", Directive(page, "script-src"));
            // The tool pages' policy: the dashboard's chart library adds a style element.
            Assert.Equal("style-src 'self' 'unsafe-inline'", Directive(page, "style-src"));
            Assert.Contains("frame-ancestors 'none'", Csp(page));
            var html = await page.Content.ReadAsStringAsync();
            Assert.DoesNotMatch(new Regex("<script(?![^>]*\\bsrc=\"/)[^>]*>", RegexOptions.IgnoreCase), html);
            Assert.DoesNotMatch(new Regex("\\son[a-z]+\\s*=", RegexOptions.IgnoreCase), html);
        }
    }

    static string Csp(HttpResponseMessage r) => string.Join(";", r.Headers.GetValues("Content-Security-Policy"));

    static string Directive(HttpResponseMessage r, string name) =>
        Csp(r).Split(';').Select(d => d.Trim()).Single(d => d.StartsWith(name + " ", StringComparison.Ordinal));

    /// <summary>
    /// Issue 22: the antiforgery cookie lacked Secure on plain HTTP (a trial on localhost), where the session cookie has it.
    /// It is Secure on every answer now, and a form posted with it over plain HTTP is still taken (browsers keep Secure
    /// cookies from http://localhost and send them back there).
    /// </summary>
    [Fact]
    public async Task The_antiforgery_cookie_is_secure_on_plain_http_too_and_forms_still_work()
    {
        await _app.NewCoordinatorAsync();
        var client = _app.Anonymous(); // http://localhost, no cookie handling: the cookie goes back by hand, as a browser would
        var form = await client.GetAsync("/signin");
        Assert.False(form.RequestMessage!.RequestUri!.Scheme == "https");
        var afCookie = form.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("foresight-af="));
        Assert.Contains("; secure", afCookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("; httponly", afCookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", afCookie, StringComparison.OrdinalIgnoreCase);
        var token = Regex.Match(await form.Content.ReadAsStringAsync(),
            "name=\"__RequestVerificationToken\" type=\"hidden\" value=\"([^\"]+)\"").Groups[1].Value;

        var post = new HttpRequestMessage(HttpMethod.Post, "/signin")
        {
            Content = new FormUrlEncodedContent([new("Email", "coordinator@test.local"), new("Password", "coordinator-password"),
                new("__RequestVerificationToken", token)]),
        };
        post.Headers.Add("Cookie", afCookie.Split(';')[0]);
        var signedIn = await client.SendAsync(post);
        Assert.Equal(HttpStatusCode.Redirect, signedIn.StatusCode);
        Assert.Contains("; secure", signedIn.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("foresight=")), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Sign_in_attempts_and_answers_are_rate_limited()
    {
        using var app = new ForesightFactory()
            .With("Foresight:RateLimits:SignInPerMinute", "5")
            .With("Foresight:RateLimits:AnswersPerMinute", "8");
        var study = await QuickStudy.CreateAsync(app, experts: 2);
        // QuickStudy signed in twice (admin, coordinator) from this address; three wrong passwords use up the five.
        var statuses = new List<HttpStatusCode>();
        for (int i = 0; i < 5; i++)
            statuses.Add((await app.Anonymous().PostAsJsonAsync("/api/auth/signin",
                new { email = "coordinator@test.local", password = "guess-" + i })).StatusCode);
        Assert.Equal([HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized, HttpStatusCode.TooManyRequests,
            HttpStatusCode.TooManyRequests], statuses);
        // Even the right password waits for the window to pass.
        var limited = await app.Anonymous().PostAsJsonAsync("/api/auth/signin", new { email = "coordinator@test.local", password = "coordinator-password" });
        Assert.Contains("wait", (await Api.ProblemAsync(limited, HttpStatusCode.TooManyRequests))["detail"]!.GetValue<string>());

        // Answers: per expert, so one expert hammering the server does not stop another.
        var answered = new List<HttpStatusCode>();
        for (int i = 0; i < 10; i++)
            answered.Add((await study.Experts[0].PutAsJsonAsync($"{QuickStudy.S}/questionnaire/topics/Q-T01", QuickStudy.Answer(5 + i % 3))).StatusCode);
        Assert.Equal(8, answered.Count(s => s == HttpStatusCode.OK));
        Assert.Equal(2, answered.Count(s => s == HttpStatusCode.TooManyRequests));
        await study.AnswerAsync(1, "Q-T01", QuickStudy.Answer(6));
    }
}
