using Dapper;
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
