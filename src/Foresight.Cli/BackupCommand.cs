using System.Diagnostics;
using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Foresight.Cli;

/// <summary>
/// `foresight backup DB OUT` and `foresight restore BACKUP DB`. Both copy with SQLite's online backup API: the copy
/// is one consistent snapshot even while the server writes, and the -wal and -shm files stay SQLite's business
/// (copying the files by hand can miss what is still in the WAL).
/// </summary>
public static class BackupCommand
{
    /// <summary>Tables whose rows are counted in what is printed, when the database has them.</summary>
    static readonly string[] KeyTables = ["surveys", "experts", "panel_members", "rounds", "answers", "answer_history"];

    public static int Backup(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var a = new Arguments(args, [], ["force"]);
        if (a.Positional.Count != 2) throw new UsageException("give the database and the file to write: foresight backup DB.db OUT.db [--force]");
        var (db, output) = (Path.GetFullPath(a.Positional[0]), Path.GetFullPath(a.Positional[1]));
        if (!File.Exists(db)) return CliApp.Fail(stderr, $"{a.Positional[0]}: no such file");
        if (db == output) return CliApp.Fail(stderr, "the backup must go to another file than the database");
        if (File.Exists(output) && !a.Has("force")) return CliApp.Fail(stderr, $"{a.Positional[1]} exists; give --force to replace it");
        if (!Directory.Exists(Path.GetDirectoryName(output))) return CliApp.Fail(stderr, $"{a.Positional[1]}: no such directory");

        var clock = Stopwatch.StartNew();
        // The copy is made beside OUT and renamed at the end, so OUT is never a half-written copy.
        var partial = $"{output}.partial-{Environment.ProcessId}";
        try
        {
            Summary summary;
            using (var source = Open(db, SqliteOpenMode.ReadWrite))
            {
                if (NotForesight(source) is { } why) return CliApp.Fail(stderr, $"{a.Positional[0]}: {why}");
                CreateOwnerOnly(partial);
                using var copy = Open(partial, SqliteOpenMode.ReadWriteCreate);
                WhileBusy(() => source.BackupDatabase(copy));
                // The copy carries the source's WAL mark in its header; a backup is better as one self-contained file.
                Execute(copy, "PRAGMA journal_mode = DELETE");
                var integrity = IntegrityCheck(copy);
                if (integrity != "ok")
                {
                    stderr.WriteLine($"foresight backup: the copy fails integrity_check: {integrity}");
                    return CliApp.Failed;
                }
                summary = Describe(copy);
            }
            File.Move(partial, output, overwrite: true);
            stdout.WriteLine($"backed up {db} to {output} in {clock.Elapsed.TotalSeconds:0.0} s: {summary.Size}; integrity_check ok");
            stdout.WriteLine($"  {summary.Schema}");
            stdout.WriteLine($"  {summary.Rows}");
            return CliApp.Ok;
        }
        catch (SqliteException e)
        {
            stderr.WriteLine($"foresight backup: {e.Message}");
            return CliApp.Failed;
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            foreach (var f in new[] { partial, partial + "-journal", partial + "-wal", partial + "-shm" }) File.Delete(f);
        }
    }

    public static int Restore(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var a = new Arguments(args);
        if (a.Positional.Count != 2)
            throw new UsageException("give the backup and the database to replace: foresight restore BACKUP.db DB.db (stop the server first)");
        var (backup, db) = (Path.GetFullPath(a.Positional[0]), Path.GetFullPath(a.Positional[1]));
        if (!File.Exists(backup)) return CliApp.Fail(stderr, $"{a.Positional[0]}: no such file");
        if (backup == db) return CliApp.Fail(stderr, "the backup and the database are the same file");
        if (!Directory.Exists(Path.GetDirectoryName(db))) return CliApp.Fail(stderr, $"{a.Positional[1]}: no such directory");

        var clock = Stopwatch.StartNew();
        try
        {
            // Read-only: the backup is left exactly as it is.
            using var source = Open(backup, SqliteOpenMode.ReadOnly);
            string? problem;
            try { problem = NotForesight(source) ?? (IntegrityCheck(source) is var i && i != "ok" ? "is damaged (integrity_check: " + i + ")" : null); }
            catch (SqliteException e) { problem = "cannot be read: " + e.Message; }
            if (problem is not null) return CliApp.Fail(stderr, $"{a.Positional[0]}: {problem}; nothing was changed");

            string? aside = null;
            bool existed = File.Exists(db) && new FileInfo(db).Length > 0;
            if (!File.Exists(db)) CreateOwnerOnly(db);
            using var target = Open(db, SqliteOpenMode.ReadWriteCreate, busySeconds: 2);
            if (existed)
            {
                // Exclusive locking mode takes an EXCLUSIVE lock on the file and keeps it until this connection
                // closes. Under WAL every open connection holds a SHARED lock, so this fails while a server has
                // the database open, and once taken nobody can open it until the restore is done.
                // One statement per command: in one command, a BEGIN that finds the database busy after a statement
                // that returns rows (the PRAGMA) goes unreported by ExecuteNonQuery (seen with Microsoft.Data.Sqlite 10).
                try
                {
                    Execute(target, "PRAGMA locking_mode = EXCLUSIVE");
                    Execute(target, "BEGIN EXCLUSIVE");
                    Execute(target, "COMMIT");
                }
                catch (SqliteException e) when (e.SqliteErrorCode is 5 or 6) // SQLITE_BUSY, SQLITE_LOCKED
                {
                    stderr.WriteLine($"foresight restore: {a.Positional[1]} is in use: a Foresight server (or another program) has it open. Stop the server " +
                        "first, then restore; nothing was changed.");
                    return CliApp.Failed;
                }
                catch (SqliteException e) when (e.SqliteErrorCode is 11 or 26) // SQLITE_CORRUPT, SQLITE_NOTADB
                {
                    return CliApp.Fail(
                        stderr, $"{a.Positional[1]} is not a usable SQLite database ({e.Message}); move it away by hand first; nothing was changed");
                }
                // The database as it was, kept beside it (through SQLite, so what is still in its WAL is kept too), named by the
                // wall time of the restore, as an operator looks for it.
                aside = $"{db}.before-restore-{DateTime.UtcNow.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture)}";
                CreateOwnerOnly(aside);
                using (var keep = Open(aside, SqliteOpenMode.ReadWriteCreate))
                {
                    target.BackupDatabase(keep);
                    Execute(keep, "PRAGMA journal_mode = DELETE");
                }
            }
            source.BackupDatabase(target);
            var integrity = IntegrityCheck(target);
            if (integrity != "ok")
            {
                stderr.WriteLine($"foresight restore: {a.Positional[1]} fails integrity_check after the restore: {integrity}" + (aside is null ? ""
                    : $"; the database as it was is in {aside}"));
                return CliApp.Failed;
            }
            var summary = Describe(target);
            stdout.WriteLine($"restored {backup} to {db} in {clock.Elapsed.TotalSeconds:0.0} s: {summary.Size}; integrity_check ok");
            stdout.WriteLine($"  {summary.Schema}");
            stdout.WriteLine($"  {summary.Rows}");
            if (aside is not null) stdout.WriteLine($"  the database as it was before: {aside}");
            stdout.WriteLine("Start the server again to use it.");
            return CliApp.Ok;
        }
        catch (SqliteException e)
        {
            stderr.WriteLine($"foresight restore: {e.Message}");
            return CliApp.Failed;
        }
        finally
        {
            SqliteConnection.ClearAllPools();
        }
    }

    /// <summary>
    /// An empty file only its owner may read (0600), for SQLite to fill: a copy holds what the database holds, and SQLite
    /// would create it 0644. SQLite accepts an empty file as an empty database and gives its journal the file's mode.
    /// </summary>
    static void CreateOwnerOnly(string path)
    {
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using (new FileStream(path, options)) { }
        // The umask can only take bits away, but an existing file keeps its mode: set it.
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }

    /// <param name="busySeconds">how long a statement waits for another connection's lock before it fails</param>
    static SqliteConnection Open(string path, SqliteOpenMode mode, int busySeconds = 30)
    {
        var c = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = mode, Pooling = false,
            DefaultTimeout = busySeconds }.ToString());
        c.Open();
        return c;
    }

    static void Execute(SqliteConnection c, string sql)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    static T Scalar<T>(SqliteConnection c, string sql)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        return (T)Convert.ChangeType(cmd.ExecuteScalar()!, typeof(T), CultureInfo.InvariantCulture);
    }

    /// <summary>Why the file is no Foresight database, or null: the server's migrations leave a schema_migrations table.</summary>
    static string? NotForesight(SqliteConnection c)
    {
        try
        {
            return Scalar<long>(c, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'") == 0
                ? "is not a Foresight database (it has no schema_migrations table)" : null;
        }
        catch (SqliteException e) when (e.SqliteErrorCode is 11 or 26) // SQLITE_CORRUPT, SQLITE_NOTADB
        {
            return "is not a usable SQLite database (" + e.Message + ")";
        }
    }

    /// <summary>PRAGMA integrity_check: "ok", or its findings.</summary>
    static string IntegrityCheck(SqliteConnection c)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = "PRAGMA integrity_check";
        using var r = cmd.ExecuteReader();
        var lines = new List<string>();
        while (r.Read()) lines.Add(r.GetString(0));
        return string.Join("; ", lines);
    }

    /// <summary>The backup step needs a read lock on the source; a server may hold the file briefly (WAL recovery, a checkpoint).</summary>
    static void WhileBusy(Action work)
    {
        for (int attempt = 1; ; attempt++)
        {
            try { work(); return; }
            catch (SqliteException e) when (e.SqliteErrorCode is 5 or 6 && attempt < 20) { Thread.Sleep(250); }
        }
    }

    sealed record Summary(string Size, string Schema, string Rows);

    static Summary Describe(SqliteConnection c)
    {
        long bytes = Scalar<long>(c, "PRAGMA page_count") * Scalar<long>(c, "PRAGMA page_size");
        string size = bytes >= 1 << 20 ? $"{bytes / 1048576.0:0.0} MiB" : $"{bytes / 1024.0:0.0} KiB";
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT version, name FROM schema_migrations ORDER BY version DESC LIMIT 1";
        string schema;
        using (var r = cmd.ExecuteReader())
            schema = r.Read() ? $"schema version {r.GetInt64(0)} ({r.GetString(1)})" : "no migration applied";
        var present = new HashSet<string>(StringComparer.Ordinal);
        // answers is a view over topic_answers since schema version 7; it still counts answers.
        cmd.CommandText = "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')";
        using (var r = cmd.ExecuteReader())
            while (r.Read()) present.Add(r.GetString(0));
        // Table names come from the fixed list above, never from input.
        var rows = string.Join(", ", KeyTables.Where(present.Contains).Select(t => $"{t} {Scalar<long>(c, $"SELECT count(*) FROM \"{t}\""):N0}"));
        return new Summary(size, schema, "rows: " + rows);
    }
}
