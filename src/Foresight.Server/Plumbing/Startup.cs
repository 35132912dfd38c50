using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;

namespace Foresight.Server.Plumbing;

/// <summary>What start-up printed: sign-in details that exist nowhere else (only their hashes are stored).</summary>
public sealed class StartupNotes
{
    public List<string> Lines { get; } = [];
}

/// <summary>
/// Start-up work: the settings, the schema, and the features' steps (the first admin account and, when configured, a
/// sample survey with a demo panel), so that a fresh start in an empty directory gives a working system. Sign-in
/// details are printed.
/// </summary>
public static class Startup
{
    /// <summary>
    /// Checks the settings registered with ValidateOnStart before any work (the database is opened before the host
    /// starts), and prints each one that is wrong, with its name, where an operator reads it: on the console.
    /// </summary>
    /// <returns>false when the server must not start</returns>
    public static bool SettingsAreValid(WebApplication app)
    {
        IEnumerable<string> failures;
        try
        {
            app.Services.GetRequiredService<IStartupValidator>().Validate();
            return true;
        }
        catch (OptionsValidationException e) { failures = e.Failures; }
        catch (AggregateException e) when (e.InnerExceptions.All(x => x is OptionsValidationException))
        {
            failures = e.InnerExceptions.Cast<OptionsValidationException>().SelectMany(x => x.Failures);
        }
        Console.Error.WriteLine("Foresight did not start: a setting is not valid.");
        foreach (var failure in failures) Console.Error.WriteLine("  " + failure);
        Console.Error.WriteLine("Correct it in appsettings.json, in the environment (Foresight:Synchronous is Foresight__Synchronous there) " +
            "or on the command line (--Foresight:Synchronous=FULL), and start again.");
        return false;
    }

    /// <summary>Migrates the schema, then runs the features' start-up steps (the first admin, a sample survey), whose lines are printed once
    /// listening.</summary>
    public static async Task PrepareAsync(WebApplication app, params Func<ILogger, Task<IEnumerable<string>>>[] steps)
    {
        var db = app.Services.GetRequiredService<Db>();
        var options = app.Services.GetRequiredService<IOptions<ForesightOptions>>().Value;
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Foresight.Startup");
        DataProtectionSetup.LogKeyRing(app.Services, logger);
        await Migrator.MigrateAsync(db, logger);
        var notes = app.Services.GetRequiredService<StartupNotes>().Lines;
        foreach (var step in steps) notes.AddRange(await step(logger));
        if (notes.Count > 0)
            app.Lifetime.ApplicationStarted.Register(() =>
            {
                var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
                var baseUrl = options.PublicBase ?? (addresses.FirstOrDefault() ?? "http://localhost:5000").TrimEnd('/');
                for (int i = 0; i < notes.Count; i++) notes[i] = notes[i].Replace("{base}", baseUrl);
                Console.WriteLine();
                Console.WriteLine("Foresight is running.");
                Console.WriteLine($"  Console:         {baseUrl}/console   (coordinators; stakeholders: {baseUrl}/reports)");
                Console.WriteLine($"  API reference:   {baseUrl}/scalar");
                Console.WriteLine($"  OpenAPI:         {baseUrl}/openapi/v1.json");
                Console.WriteLine($"  Database:        {db.Path}");
                foreach (var note in notes) Console.WriteLine("  " + note);
                Console.WriteLine();
            });
    }
}
