using Microsoft.AspNetCore.DataProtection;

namespace Foresight.Server.Plumbing;

public static class DataProtectionSetup
{
    /// <summary>
    /// Keeps the keys that encrypt session cookies beside the database (data/keys), so that sessions survive a
    /// restart or a new container with the same data volume.
    /// </summary>
    public static IServiceCollection AddForesightDataProtection(this IServiceCollection services, IConfiguration config, IHostEnvironment env)
    {
        var database = config.GetValue<string>($"{ForesightOptions.Section}:Database") ?? new ForesightOptions().Database;
        var keys = Path.Combine(Path.GetDirectoryName(Db.ResolvePath(database, env))!, "keys");
        Directory.CreateDirectory(keys);
        services.AddDataProtection().SetApplicationName("Foresight").PersistKeysToFileSystem(new DirectoryInfo(keys));
        return services;
    }
}
