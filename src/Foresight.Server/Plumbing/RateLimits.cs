using System.Threading.RateLimiting;

namespace Foresight.Server.Plumbing;

/// <summary>Rate limits (ASP.NET Core's limiter): sign-in attempts per client address, answer submissions per expert.</summary>
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
                context.HttpContext.Response.StatusCode = 429;
                await Problems.Make(429, "Too many requests", "Too many requests in a short time; wait a minute and try again.")
                    .ExecuteAsync(context.HttpContext);
            };
            o.AddPolicy(SignIn, http => RateLimitPartition.GetFixedWindowLimiter(
                http.Connection.RemoteIpAddress?.ToString() ?? "unknown",
                _ => new FixedWindowRateLimiterOptions { PermitLimit = signInPerMinute, Window = TimeSpan.FromMinutes(1) }));
            o.AddPolicy(Answers, http => RateLimitPartition.GetFixedWindowLimiter(
                http.User.FindFirst(Caller.MemberClaim)?.Value ?? http.Connection.RemoteIpAddress?.ToString() ?? "unknown",
                _ => new FixedWindowRateLimiterOptions { PermitLimit = answersPerMinute, Window = TimeSpan.FromMinutes(1) }));
        });
        return services;
    }
}
