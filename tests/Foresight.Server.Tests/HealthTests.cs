using System.Net;
using Foresight.Server.Plumbing;
using Hangfire;
using Microsoft.Extensions.DependencyInjection;

namespace Foresight.Server.Tests;

/// <summary>/health/live answers while the process runs; /health/ready checks the database and the job server.</summary>
public sealed class HealthTests : IDisposable
{
    readonly ForesightFactory _app = new();

    public void Dispose() => _app.Dispose();

    [Fact]
    public async Task Ready_means_the_database_and_the_job_server_answer()
    {
        var anonymous = _app.Anonymous();
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/health/live")).StatusCode);
        // The job server registers itself shortly after start.
        var (_, ready) = await Wait.ForAsync(async () =>
            {
                var response = await anonymous.GetAsync("/health/ready");
                return (response.StatusCode, System.Text.Json.Nodes.JsonNode.Parse(await response.Content.ReadAsStringAsync())!);
            },
            r => r.StatusCode == HttpStatusCode.OK, r => $"/health/ready: {(int)r.StatusCode} {r.Item2.ToJsonString()}");
        Assert.Equal("Healthy", ready["status"]!.GetValue<string>());
        Assert.Equal("Healthy", ready["checks"]!["database"]!["status"]!.GetValue<string>());
        Assert.Equal("Healthy", ready["checks"]!["jobs"]!["status"]!.GetValue<string>());

        // Without a live job server (stopped, or its heartbeat gone), the check says so.
        var check = new JobsHealthCheck(new Hangfire.InMemory.InMemoryStorage(), TimeProvider.System);
        var result = await check.CheckHealthAsync(new Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckContext());
        Assert.Equal(Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Unhealthy, result.Status);
        Assert.Contains("not running", result.Description);
        var later = new JobsHealthCheck(_app.Services.GetRequiredService<JobStorage>(), new Later(TimeSpan.FromMinutes(5)));
        Assert.Contains("heartbeat", (await later.CheckHealthAsync(new Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckContext())).Description);

        // A database that cannot be opened makes the server unready (503).
        File.Delete(_app.DatabasePath + "-shm");
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Move(Path.GetDirectoryName(_app.DatabasePath)!, Path.GetDirectoryName(_app.DatabasePath) + "-gone");
        try
        {
            var down = await anonymous.GetAsync("/health/ready");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, down.StatusCode);
            Assert.Contains("\"database\":{\"status\":\"Unhealthy\"", await down.Content.ReadAsStringAsync());
        }
        finally { Directory.Move(Path.GetDirectoryName(_app.DatabasePath) + "-gone", Path.GetDirectoryName(_app.DatabasePath)!); }
    }

    sealed class Later(TimeSpan ahead) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + ahead;
    }
}
