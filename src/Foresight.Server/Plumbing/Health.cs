using Dapper;
using Hangfire;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Foresight.Server.Plumbing;

/// <summary>/health/ready: the database answers a query.</summary>
public sealed class DatabaseHealthCheck(Db db) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken ct = default)
    {
        try
        {
            await using var c = await db.OpenAsync(ct);
            return await c.ExecuteScalarAsync<long>("SELECT 1") == 1 ? HealthCheckResult.Healthy() : HealthCheckResult.Unhealthy("unexpected answer");
        }
        catch (Exception e)
        {
            return HealthCheckResult.Unhealthy("the database does not answer", e);
        }
    }
}

/// <summary>
/// /health/ready: Hangfire's storage answers and this process's job server is alive (its heartbeat is recent), so
/// deadlines, e-mail and reports will run. Asking for the servers is itself a query to the storage.
/// </summary>
public sealed class JobsHealthCheck(JobStorage storage, TimeProvider clock) : IHealthCheck
{
    // Hangfire beats every 30 s by default; two missed beats mean the server is gone.
    static readonly TimeSpan Stale = TimeSpan.FromSeconds(70);

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken ct = default)
    {
        try
        {
            var servers = storage.GetMonitoringApi().Servers();
            // Server ids are "name:pid:guid"; other processes may share a PostgreSQL storage.
            var ours = servers.Where(s => s.Name.Contains($":{Environment.ProcessId}:", StringComparison.Ordinal)).ToList();
            if (ours.Count == 0) return Task.FromResult(HealthCheckResult.Unhealthy("the background job server of this process is not running"));
            var now = clock.GetUtcNow().UtcDateTime;
            var beat = ours.Max(s => s.Heartbeat ?? DateTime.MinValue);
            return Task.FromResult(now - beat > Stale
                ? HealthCheckResult.Unhealthy($"the background job server's last heartbeat was at {beat:O}")
                : HealthCheckResult.Healthy($"{ours.Sum(s => s.WorkersCount)} workers, heartbeat {(int)(now - beat).TotalSeconds} s ago"));
        }
        catch (Exception e)
        {
            return Task.FromResult(HealthCheckResult.Unhealthy("the background job storage does not answer", e));
        }
    }
}

public static class Health
{
    public static IServiceCollection AddForesightHealth(this IServiceCollection services)
    {
        services.AddHealthChecks()
            .AddCheck<DatabaseHealthCheck>("database", tags: ["ready"])
            .AddCheck<JobsHealthCheck>("jobs", tags: ["ready"]);
        return services;
    }

    /// <summary>/health/live: the process answers. /health/ready: database and jobs, each with its status, as JSON.</summary>
    public static void MapForesightHealth(this IEndpointRouteBuilder app)
    {
        app.MapHealthChecks("/health/live", new() { Predicate = _ => false });
        app.MapHealthChecks("/health/ready", new()
        {
            Predicate = c => c.Tags.Contains("ready"),
            ResponseWriter = (http, report) => http.Response.WriteAsJsonAsync(new
            {
                status = report.Status.ToString(),
                checks = report.Entries.ToDictionary(e => e.Key, e => new { status = e.Value.Status.ToString(), description = e.Value.Description }),
            }),
        });
    }
}
