using System.Reflection;
using Dapper;

namespace Foresight.Server.Plumbing;

/// <summary>
/// Creates and migrates the schema at start-up from the versioned SQL scripts embedded in the server
/// (Plumbing/Migrations/NNNN_name.sql). Each script runs once, in its own transaction.
/// </summary>
public static class Migrator
{
    public static async Task MigrateAsync(Db db, ILogger logger, CancellationToken ct = default)
    {
        db.CreateFiles();
        await using var connection = await db.OpenAsync(ct);
        await connection.ExecuteAsync("PRAGMA journal_mode = WAL;");
        await connection.ExecuteAsync("""
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version    INTEGER PRIMARY KEY,
                name       TEXT NOT NULL,
                applied_at TEXT NOT NULL
            )
            """);
        var applied = (await connection.QueryAsync<long>("SELECT version FROM schema_migrations")).ToHashSet();
        foreach (var (version, name, sql) in Scripts())
        {
            if (applied.Contains(version)) continue;
            await using var tx = await connection.BeginTransactionAsync(ct);
            await connection.ExecuteAsync(sql, transaction: tx);
            // When the schema changed on this machine: an operator's fact in wall time, not the surveys' clock.
            await connection.ExecuteAsync("INSERT INTO schema_migrations (version, name, applied_at) VALUES (@version, @name, @at)",
                new { version, name, at = Db.Iso(DateTimeOffset.UtcNow) }, tx);
            await tx.CommitAsync(ct);
            logger.LogInformation("Applied database migration {Version} {Name}", version, name);
        }
    }

    /// <summary>The migration scripts in order (tests also apply a prefix of them by hand, to migrate an old layout).</summary>
    internal static IEnumerable<(long Version, string Name, string Sql)> Scripts()
    {
        var assembly = Assembly.GetExecutingAssembly();
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith("migrations/")).Order(StringComparer.Ordinal))
        {
            var file = resource["migrations/".Length..];
            var version = long.Parse(file[..file.IndexOf('_')]);
            using var reader = new StreamReader(assembly.GetManifestResourceStream(resource)!);
            yield return (version, file, reader.ReadToEnd());
        }
    }
}
