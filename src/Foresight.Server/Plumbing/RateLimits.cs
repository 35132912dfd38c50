using System.Threading.RateLimiting;

namespace Foresight.Server.Plumbing;

/// <summary>Rate limits (ASP.NET Core's limiter): sign-in attempts per client address (API and page form together), answer submissions per expert.</summary>
public static class RateLimits
{
    public const string SignIn = "signin";
    public const string Answers = "answers";

    public static IServiceCollection AddForesightRateLimits(this IServiceCollection services, IConfiguration config)
    {
        int signInPerMinute = config.GetValue("Foresight:RateLimits:SignInPerMinute", 10);
        int answersPerMinute = config.GetValue("Foresight:RateLimits:AnswersPerMinute", 600);
        services.AddRateLimiter(o =>
        {
            o.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            o.OnRejected = async (context, ct) =>
            {
                var http = context.HttpContext;
                // Seconds until the window opens again, so a person (or a client) knows how long to wait.
                int seconds = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? Math.Max(1, (int)Math.Ceiling(after.TotalSeconds)) : 60;
                http.Response.StatusCode = 429;
                http.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
                if (!http.Request.Path.StartsWithSegments("/api"))
                {
                    // A person at the sign-in page reads a page in their language, not a JSON document.
                    var ui = http.RequestServices.GetRequiredService<Ui>();
                    http.Response.ContentType = "text/html; charset=utf-8";
                    var text = System.Net.WebUtility.HtmlEncode(ui.T("ratelimit.signin", seconds));
                    await http.Response.WriteAsync($"""
                        <!DOCTYPE html><html lang="{ui.Lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
                        <title>{System.Net.WebUtility.HtmlEncode(ui.T("ratelimit.title"))}</title><link rel="stylesheet" href="/css/site.css"></head>
                        <body><main id="main"><h1>{System.Net.WebUtility.HtmlEncode(ui.T("ratelimit.title"))}</h1><p role="alert">{text}</p>
                        <p><a href="/signin">{System.Net.WebUtility.HtmlEncode(ui.T("signin.title"))}</a></p></main></body></html>
                        """, ct);
                    return;
                }
                await Problems.Make(429, "Too many requests", $"Too many requests in a short time; wait {seconds} seconds and try again.").ExecuteAsync(http);
            };
            // The API's sign-in and the sign-in page's form count against one limit per client address; showing the
            // page (GET) is not limited.
            o.AddPolicy(SignIn, http => HttpMethods.IsPost(http.Request.Method)
                ? RateLimitPartition.GetFixedWindowLimiter(http.Connection.RemoteIpAddress?.ToString() ?? "unknown",
                    _ => new FixedWindowRateLimiterOptions { PermitLimit = signInPerMinute, Window = TimeSpan.FromMinutes(1) })
                : RateLimitPartition.GetNoLimiter("read"));
            o.AddPolicy(Answers, http => RateLimitPartition.GetFixedWindowLimiter(
                http.User.FindFirst(Caller.MemberClaim)?.Value ?? http.Connection.RemoteIpAddress?.ToString() ?? "unknown",
                _ => new FixedWindowRateLimiterOptions { PermitLimit = answersPerMinute, Window = TimeSpan.FromMinutes(1) }));
        });
        return services;
    }
}
