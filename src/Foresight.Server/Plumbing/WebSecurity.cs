using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.HttpOverrides;
using Scalar.AspNetCore;

namespace Foresight.Server.Plumbing;

/// <summary>
/// What a browser is told and checked for: security headers on every response, a content security policy without
/// inline scripts, no caching of signed-in answers, and antiforgery on API calls that ride on the session cookie.
/// </summary>
public static class WebSecurity
{
    /// <summary>
    /// Pages and reports load only their own scripts, styles and fonts; no inline script, no framing, no plugins.
    /// connect-src 'self' also covers the hub's WebSocket on the same host.
    /// </summary>
    public const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; " +
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    /// <summary>
    /// The API reference (Scalar) and the jobs dashboard (Hangfire) are third-party pages with inline styles, so they get
    /// style-src 'unsafe-inline'; their scripts are files, bar Scalar's one inline script, which carries the nonce Scalar
    /// makes for each answer (<paramref name="nonce"/>). Framing and other origins stay forbidden. Only admins reach /hangfire.
    /// </summary>
    public static string ToolPagesPolicy(string? nonce) =>
        $"default-src 'self'; script-src 'self'{(nonce is null ? "" : $" 'nonce-{nonce}'")}; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
        "font-src 'self' data:; " +
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    public const string AntiforgeryHeader = "X-CSRF-Token";

    /// <summary>Headers on every answer besides the content security policy (Kestrel's own refusals get them too).</summary>
    public static readonly (string Name, string Value)[] EveryAnswerHeaders =
    [
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        // Invitation links and shared report links carry secrets in the path: never send them on as a referrer.
        ("Referrer-Policy", "no-referrer"),
        ("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
        ("Cross-Origin-Resource-Policy", "same-origin"),
    ];

    public static IServiceCollection AddForesightWebSecurity(this IServiceCollection services)
    {
        services.AddAntiforgery(o =>
        {
            o.Cookie = new SecureCookie { Name = "foresight-af", HttpOnly = true, IsEssential = true, SameSite = SameSiteMode.Strict };
            o.HeaderName = AntiforgeryHeader;
        });
        // A reverse proxy on the same machine (nginx, Caddy) terminates TLS: trust its X-Forwarded-For/-Proto/-Host so
        // that rate limits see the client's address, the request counts as HTTPS, and links made from the request's
        // address (in e-mails, when Foresight:PublicUrl is not set) carry the public host. Only loopback proxies are trusted.
        services.Configure<ForwardedHeadersOptions>(o =>
            o.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto | ForwardedHeaders.XForwardedHost);
        services.AddHsts(o => o.MaxAge = TimeSpan.FromDays(365));
        return services;
    }

    /// <summary>
    /// A cookie that is Secure on every answer, as the session cookie is. Antiforgery refuses SecurePolicy=Always on a
    /// plain-HTTP request (a trial on localhost), so the policy stays SameAsRequest and the cookie is marked Secure here;
    /// browsers keep Secure cookies from http://localhost and 127.0.0.1 and send them back there, and on other hosts the
    /// server is reached over HTTPS (directly or through the proxy).
    /// </summary>
    sealed class SecureCookie : CookieBuilder
    {
        public SecureCookie() => SecurePolicy = CookieSecurePolicy.SameAsRequest;

        public override CookieOptions Build(HttpContext context, DateTimeOffset expiresFrom)
        {
            var options = base.Build(context, expiresFrom);
            options.Secure = true;
            return options;
        }
    }

    /// <summary>Headers first (so every answer, errors included, carries them), HSTS on HTTPS outside development.</summary>
    public static void UseSecurityHeaders(this WebApplication app)
    {
        app.UseForwardedHeaders();
        if (!app.Environment.IsDevelopment()) app.UseHsts();
        app.Use((context, next) =>
        {
            // Taken now: Hangfire's dashboard moves /hangfire into PathBase (its pages' Path is "/") before it answers.
            bool toolPage = context.Request.Path.StartsWithSegments("/scalar") || context.Request.Path.StartsWithSegments("/hangfire");
            context.Response.OnStarting(() =>
            {
                var h = context.Response.Headers;
                h.ContentSecurityPolicy = toolPage
                    ? ToolPagesPolicy(context.Items[ScalarOptions.NonceHttpContextItemKey] as string) : ContentSecurityPolicy;
                foreach (var (name, value) in EveryAnswerHeaders) h[name] = value;
                // Answers to a signed-in caller hold personal or unpublished data: no shared or browser cache keeps them.
                if (context.User.Identity?.IsAuthenticated == true && !h.ContainsKey("Cache-Control")) h.CacheControl = "no-store";
                return Task.CompletedTask;
            });
            return next(context);
        });
    }

    /// <summary>
    /// The API takes bearer tokens, which a browser never sends by itself. When a state-changing /api request is
    /// authenticated by the session cookie instead, it must also carry the antiforgery token (header X-CSRF-Token,
    /// or the form field), so that another site cannot make a signed-in browser act. Razor page forms are checked by
    /// ASP.NET Core itself.
    /// </summary>
    public static void UseCookieApiAntiforgery(this WebApplication app)
    {
        app.Use(async (context, next) =>
        {
            var request = context.Request;
            if (request.Path.StartsWithSegments("/api") && !HttpMethods.IsGet(request.Method) && !HttpMethods.IsHead(request.Method)
                && !HttpMethods.IsOptions(request.Method) && request.Headers.Authorization.Count == 0
                && request.Cookies.ContainsKey(AuthSetup.CookieName))
            {
                var antiforgery = context.RequestServices.GetRequiredService<IAntiforgery>();
                if (!await antiforgery.IsRequestValidAsync(context))
                {
                    context.Response.StatusCode = StatusCodes.Status400BadRequest;
                    await Problems.Make(400, "Antiforgery token missing",
                        $"This request carries the session cookie but no valid antiforgery token. Browser pages send it in the {AntiforgeryHeader} header; " +
                        "API clients should send 'Authorization: Bearer <token>' instead of the cookie.").ExecuteAsync(context);
                    return;
                }
            }
            await next(context);
        });
    }
}
