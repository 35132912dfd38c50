using Hangfire;
using Hangfire.AspNetCore;
using Hangfire.InMemory;

namespace Foresight.Server.Plumbing;

/// <summary>
/// Background work with Hangfire. Its storage is in memory: the state a job works from lives in our own tables,
/// so after a restart the jobs are derived again from them (see the features' Resume methods).
/// </summary>
public static class Jobs
{
    public static IServiceCollection AddForesightJobs(this IServiceCollection services)
    {
        // Storage and activator belong to this container, not to Hangfire's process-wide defaults: two servers in one
        // process (the tests) must not run each other's jobs against each other's databases.
        services.AddSingleton<JobStorage>(_ => new InMemoryStorage());
        services.AddSingleton<JobActivator>(sp => new AspNetCoreJobActivator(sp.GetRequiredService<IServiceScopeFactory>()));
        services.AddHangfire(c => c.UseSimpleAssemblyNameTypeSerializer().UseRecommendedSerializerSettings());
        // Scheduled retries are looked for every second (the default is 15 s): retries of a failed render come on time.
        services.AddHangfireServer(o =>
        {
            o.WorkerCount = 2;
            o.Queues = ["reports", "default"];
            o.SchedulePollingInterval = TimeSpan.FromSeconds(1);
        });
        return services;
    }
}
