using Foresight.Cli;
using Microsoft.Data.Sqlite;

namespace Foresight.Core.Tests.Cli;

/// <summary>
/// `foresight backup` and `foresight restore` on small Foresight-shaped databases (a schema_migrations table, WAL,
/// as the server leaves them). The backup of a running server under load is in Foresight.Server.Tests.
/// </summary>
public sealed class BackupCommandTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("foresight-backup").FullName;

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, true);
    }

    string PathOf(string name) => Path.Combine(_dir, name);

    static async Task<(int Code, string Out, string Err)> RunAsync(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = await CliApp.RunAsync(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    static SqliteConnection Open(string path)
    {
        var c = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false, DefaultTimeout = 30 }.ToString());
        c.Open();
        return c;
    }

    static void Execute(SqliteConnection c, string sql, SqliteTransaction? tx = null)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        cmd.Transaction = tx;
        cmd.ExecuteNonQuery();
    }

    static long Count(string path, string sql)
    {
        using var c = Open(path);
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        return (long)cmd.ExecuteScalar()!;
    }

    /// <summary>
    /// A database like the server's: WAL, a schema_migrations table, and rows of answers with a tally that every
    /// transaction keeps equal to the number of rows (a copy with a different tally would be torn).
    /// </summary>
    string NewDatabase(string name, int answers)
    {
        var path = PathOf(name);
        using var c = Open(path);
        Execute(c, """
            PRAGMA journal_mode = WAL;
            CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL);
            INSERT INTO schema_migrations VALUES (1, '0001_initial.sql', '2025-01-01T00:00:00.000Z');
            CREATE TABLE answers (id INTEGER PRIMARY KEY, value TEXT NOT NULL, padding BLOB NOT NULL);
            CREATE TABLE tally (n INTEGER NOT NULL);
            INSERT INTO tally VALUES (0);
            """);
        AddAnswers(c, answers, "first");
        return path;
    }

    static void AddAnswers(SqliteConnection c, int n, string value)
    {
        using var tx = c.BeginTransaction();
        Execute(c, $"""
            WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < {n})
            INSERT INTO answers (value, padding) SELECT '{value}', randomblob(1000) FROM k;
            UPDATE tally SET n = (SELECT count(*) FROM answers);
            """, tx);
        tx.Commit();
    }

    [Fact]
    public async Task A_backup_taken_while_another_connection_writes_is_one_consistent_snapshot()
    {
        var db = NewDatabase("live.db", 5000);
        long committed = 5000;
        using var stop = new CancellationTokenSource();
        // Another connection keeps adding 10 answers per transaction, as fast as it can.
        var writer = Task.Run(() =>
        {
            using var c = Open(db);
            while (!stop.IsCancellationRequested)
            {
                AddAnswers(c, 10, "later");
                Interlocked.Add(ref committed, 10);
            }
        });
        // On a busy machine the writer's thread may start late: the backups begin once it has written (the time is
        // only a guard against a writer that never writes).
        var started = System.Diagnostics.Stopwatch.StartNew();
        while (Interlocked.Read(ref committed) == 5000)
        {
            Assert.True(started.Elapsed < TimeSpan.FromMinutes(3) && !writer.IsCompleted, "the writer wrote nothing");
            await Task.Delay(10);
        }
        long atStart = Interlocked.Read(ref committed);
        // Five backups, and more should a starved writer have written nothing while they ran (a guard ends it at 50).
        for (int i = 0; i < 5 || (Interlocked.Read(ref committed) == atStart && i < 50); i++)
        {
            long before = Interlocked.Read(ref committed);
            var (code, output, err) = await RunAsync("backup", db, PathOf($"copy{i}.db"));
            long after = Interlocked.Read(ref committed);
            Assert.True(code == 0, err);
            Assert.Contains("integrity_check ok", output);
            Assert.Contains("schema version 1 (0001_initial.sql)", output);
            var copy = PathOf($"copy{i}.db");
            long rows = Count(copy, "SELECT count(*) FROM answers");
            Assert.Equal(rows, Count(copy, "SELECT n FROM tally"));
            Assert.True(rows % 10 == 0 && rows >= before
                && rows <= after, $"copy {i}: {rows} answers; {before} were committed before the backup, {after} after");
            Assert.Equal("ok", Scalar(copy, "PRAGMA integrity_check"));
            Assert.False(File.Exists(copy + "-wal"), "a backup is one file");
        }
        stop.Cancel();
        await writer;
        Assert.True(atStart > 5000 && Interlocked.Read(ref committed) > atStart, "the writer wrote nothing during the backups");
    }

    static string Scalar(string path, string sql)
    {
        using var c = Open(path);
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        return Convert.ToString(cmd.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture)!;
    }

    [Fact]
    public async Task Restore_puts_the_backed_up_data_back_and_keeps_the_database_as_it_was()
    {
        var db = NewDatabase("foresight.db", 100);
        var backup = PathOf("backup.db");
        Assert.Equal(0, (await RunAsync("backup", db, backup)).Code);
        using (var c = Open(db))
        {
            Execute(c, "DELETE FROM answers WHERE id <= 60");
            AddAnswers(c, 7, "changed");
        }
        Assert.Equal(47, Count(db, "SELECT count(*) FROM answers"));

        var (code, output, err) = await RunAsync("restore", backup, db);
        Assert.True(code == 0, err);
        Assert.Contains("integrity_check ok", output);
        Assert.Contains("Start the server again", output);
        Assert.Equal(100, Count(db, "SELECT count(*) FROM answers WHERE value = 'first'"));
        Assert.Equal(100, Count(db, "SELECT count(*) FROM answers"));
        Assert.Equal(100, Count(db, "SELECT n FROM tally"));
        var aside = Assert.Single(Directory.GetFiles(_dir, "foresight.db.before-restore-*"));
        Assert.Contains(aside, output);
        Assert.Equal(47, Count(aside, "SELECT count(*) FROM answers"));
        Assert.Equal(7, Count(aside, "SELECT count(*) FROM answers WHERE value = 'changed'"));
    }

    [Fact]
    public async Task A_backup_and_what_a_restore_creates_are_readable_by_their_owner_only()
    {
        if (OperatingSystem.IsWindows()) return; // no Unix modes
        const UnixFileMode ownerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        var db = NewDatabase("foresight.db", 10);
        File.SetUnixFileMode(db, ownerOnly | UnixFileMode.GroupRead | UnixFileMode.OtherRead); // as an earlier server left it
        var backup = PathOf("backup.db");
        Assert.Equal(0, (await RunAsync("backup", db, backup)).Code);
        Assert.Equal(ownerOnly, File.GetUnixFileMode(backup));

        var restored = PathOf("restored.db");
        Assert.Equal(0, (await RunAsync("restore", backup, restored)).Code);
        Assert.Equal(ownerOnly, File.GetUnixFileMode(restored));
        Assert.Equal(0, (await RunAsync("restore", backup, db)).Code);
        Assert.Equal(ownerOnly, File.GetUnixFileMode(Assert.Single(Directory.GetFiles(_dir, "foresight.db.before-restore-*"))));
    }

    [Fact]
    public async Task Backup_does_not_replace_an_existing_file_without_force()
    {
        var db = NewDatabase("foresight.db", 10);
        var output = PathOf("out.db");
        await File.WriteAllTextAsync(output, "keep me");
        var (code, _, err) = await RunAsync("backup", db, output);
        Assert.Equal(CliApp.BadInput, code);
        Assert.Contains("--force", err);
        Assert.Equal("keep me", await File.ReadAllTextAsync(output));

        (code, _, err) = await RunAsync("backup", db, output, "--force");
        Assert.True(code == 0, err);
        Assert.Equal(10, Count(output, "SELECT count(*) FROM answers"));
        Assert.Empty(Directory.GetFiles(_dir, "out.db.partial-*"));
    }

    [Fact]
    public async Task Restore_refuses_a_file_that_is_not_a_Foresight_database_or_is_damaged()
    {
        var db = NewDatabase("foresight.db", 10);
        var text = PathOf("notes.txt");
        await File.WriteAllTextAsync(text, string.Concat(Enumerable.Repeat("not a database at all\n", 500)));
        var other = PathOf("other.db");
        using (var c = Open(other)) Execute(c, "CREATE TABLE t (x); INSERT INTO t VALUES (1);");
        // A damaged copy: a good backup with one of its table pages overwritten.
        var damaged = PathOf("damaged.db");
        Assert.Equal(0, (await RunAsync("backup", NewDatabase("big.db", 200), damaged)).Code);
        await using (var f = new FileStream(damaged, FileMode.Open, FileAccess.Write))
        {
            f.Position = 4096 * 5;
            f.Write(Enumerable.Repeat((byte)0x5A, 4096).ToArray());
        }

        foreach (var (file, why) in new[] { (text, "not a usable SQLite database"), (other, "not a Foresight database"), (damaged, "damaged") })
        {
            var (code, _, err) = await RunAsync("restore", file, db);
            Assert.True(code == CliApp.BadInput, $"{Path.GetFileName(file)}: exit code {code}: {err}");
            Assert.Contains(why, err);
            Assert.Contains("nothing was changed", err);
        }
        Assert.Equal(10, Count(db, "SELECT count(*) FROM answers"));
        Assert.Empty(Directory.GetFiles(_dir, "foresight.db.before-restore-*"));
        Assert.Equal(CliApp.BadInput, (await RunAsync("restore", PathOf("missing.db"), db)).Code);
        Assert.Equal(CliApp.BadInput, (await RunAsync("restore", db)).Code);
    }

    [Fact]
    public async Task Restore_refuses_while_another_connection_has_the_database_open()
    {
        var db = NewDatabase("foresight.db", 10);
        var backup = PathOf("backup.db");
        Assert.Equal(0, (await RunAsync("backup", db, backup)).Code);

        // A connection in the middle of a write, and one merely open (as a server's pooled connections are).
        using (var c = Open(db))
        using (var tx = c.BeginTransaction(deferred: false))
        {
            Execute(c, "INSERT INTO answers (value, padding) VALUES ('uncommitted', x'00')", tx);
            var (code, _, err) = await RunAsync("restore", backup, db);
            Assert.Equal(CliApp.Failed, code);
            Assert.True(err.Contains("is in use"), err);
            Assert.Contains("Stop the server first", err);
        }
        using (var c = Open(db))
        {
            // Idle after a read: under WAL it keeps a shared lock on the file while it is open.
            using (var read = c.CreateCommand())
            {
                read.CommandText = "SELECT count(*) FROM answers";
                Assert.Equal(10L, (long)read.ExecuteScalar()!);
            }
            var (code, _, err) = await RunAsync("restore", backup, db);
            Assert.Equal(CliApp.Failed, code);
            Assert.Contains("is in use", err);
        }
        Assert.Empty(Directory.GetFiles(_dir, "foresight.db.before-restore-*"));
        Assert.Equal(0, (await RunAsync("restore", backup, db)).Code);
    }
}
