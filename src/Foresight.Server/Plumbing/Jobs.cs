using Hangfire;
using Hangfire.AspNetCore;
using Hangfire.Dashboard;
using Hangfire.InMemory;
using Hangfire.PostgreSql;

namespace Foresight.Server.Plumbing;

/// <summary>
/// Background work with Hangfire: in memory by default, in PostgreSQL when ConnectionStrings:Hangfire is set. Either
/// way, the state a job works from lives in our own tables, so after a restart the jobs are derived again from them
/// (the features' Resume and Reconcile methods) and a job run twice changes nothing.
/// </summary>
public static class Jobs
{
    public static IServiceCollection AddForesightJobs(this IServiceCollection services, IConfiguration configuration)
    {
        var postgres = configuration.GetConnectionString("Hangfire");
        // Storage and activator belong to this container, not to Hangfire's process-wide defaults: two servers in one
        // process (the tests) must not run each other's jobs against each other's databases.
        services.AddSingleton<JobStorage>(_ => string.IsNullOrEmpty(postgres)
            ? new InMemoryStorage()
#pragma warning disable CS0618 // the connection-string constructor is the one that owns its connections
            : new PostgreSqlStorage(postgres, _ => { }, new PostgreSqlStorageOptions { PrepareSchemaIfNecessary = true, SchemaName = "hangfire" }));
#pragma warning restore CS0618
        services.AddSingleton<JobActivator>(sp => new AspNetCoreJobActivator(sp.GetRequiredService<IServiceScopeFactory>()));
        services.AddHangfire((sp, c) => c.UseSimpleAssemblyNameTypeSerializer().UseRecommendedSerializerSettings()
            .UseLogProvider(new HostLogProvider(sp.GetRequiredService<ILoggerFactory>())));
        // Scheduled jobs (deadlines, reminders, retries) are looked for every second (the default is 15 s).
        services.AddHangfireServer(o =>
        {
            // Renders take at most PdfOptions.MaxConcurrentRenders of these; the others keep deadlines and e-mail on time.
            o.WorkerCount = 4;
            o.Queues = ["reports", "default"];
            o.SchedulePollingInterval = TimeSpan.FromSeconds(1);
        });
        return services;
    }

    /// <summary>The dashboard at /hangfire, for admins only: it lists the jobs of every survey.</summary>
    public static void MapJobsDashboard(this IEndpointRouteBuilder app) =>
        app.MapHangfireDashboard("/hangfire", new DashboardOptions
        {
            Authorization = [new AdminsOnly()],
            AppPath = "/console",
            DisplayStorageConnectionString = false,
            DashboardTitle = "Foresight jobs",
        });

    /// <summary>
    /// Hangfire keeps one log provider for the whole process. When a second server in the same process (the tests) has
    /// been disposed, its logger factory is gone: then Hangfire logs nowhere instead of failing the job it was creating.
    /// </summary>
    sealed class HostLogProvider(ILoggerFactory factory) : Hangfire.Logging.ILogProvider
    {
        public Hangfire.Logging.ILog GetLogger(string name)
        {
            try { return new AspNetCoreLogProvider(factory).GetLogger(name); }
            catch (ObjectDisposedException) { return new Silent(); }
        }

        sealed class Silent : Hangfire.Logging.ILog
        {
            public bool Log(Hangfire.Logging.LogLevel logLevel, Func<string>? messageFunc, Exception? exception = null) => false;
        }
    }

    /// <summary>Hangfire answers 401 to an anonymous caller and 403 to a signed-in one this refuses.</summary>
    sealed class AdminsOnly : IDashboardAuthorizationFilter
    {
        public bool Authorize(DashboardContext context) => context.GetHttpContext().User.IsInRole(Roles.Admin);
    }
}
