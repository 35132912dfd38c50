using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.HttpOverrides;

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
    /// The API reference (Scalar) and the jobs dashboard (Hangfire) are third-party pages built with inline scripts and
    /// styles; they get this policy, which still forbids framing and other origins. Only signed-in staff reach /hangfire.
    /// </summary>
    public const string ToolPagesPolicy =
        "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; " +
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    public const string AntiforgeryHeader = "X-CSRF-Token";

    public static IServiceCollection AddForesightWebSecurity(this IServiceCollection services)
    {
        services.AddAntiforgery(o =>
        {
            o.Cookie.Name = "foresight-af";
            // ASP.NET Core refuses to issue an Always-Secure antiforgery cookie on a plain-HTTP request (a trial on
            // localhost); on HTTPS, direct or through the proxy, it is Secure. The session cookie is always Secure.
            o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            o.Cookie.SameSite = SameSiteMode.Strict;
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

    /// <summary>Headers first (so every answer, errors included, carries them), HSTS on HTTPS outside development.</summary>
    public static void UseSecurityHeaders(this WebApplication app)
    {
        app.UseForwardedHeaders();
        if (!app.Environment.IsDevelopment()) app.UseHsts();
        app.Use((context, next) =>
        {
            context.Response.OnStarting(() =>
            {
                var h = context.Response.Headers;
                var path = context.Request.Path;
                h.ContentSecurityPolicy = path.StartsWithSegments("/scalar") || path.StartsWithSegments("/hangfire") ? ToolPagesPolicy : ContentSecurityPolicy;
                h.XContentTypeOptions = "nosniff";
                h.XFrameOptions = "DENY";
                // Invitation links and shared report links carry secrets in the path: never send them on as a referrer.
                h["Referrer-Policy"] = "no-referrer";
                h["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), payment=(), usb=()";
                h["Cross-Origin-Opener-Policy"] = "same-origin";
                h["Cross-Origin-Resource-Policy"] = "same-origin";
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
