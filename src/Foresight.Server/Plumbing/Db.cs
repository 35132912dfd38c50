using System.Data;
using Foresight.Core;
using Dapper;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace Foresight.Server.Plumbing;

/// <summary>
/// Opens connections to the SQLite store: WAL journal, foreign keys on, a busy timeout so concurrent writers
/// wait instead of failing. Write transactions begin IMMEDIATE so two writers never deadlock on an upgrade.
/// </summary>
public sealed class Db
{
    readonly string _connectionString;

    /// <summary>Set on every connection that writes: durability and how long to wait for another process's lock.</summary>
    public string WriterPragmas { get; }

    public string Path { get; }

    /// <summary>How long a writer waits for another process's lock before failing (set by <see cref="WriterPragmas"/>).</summary>
    public const int BusyTimeoutMs = 5000;

    public static string ResolvePath(string database, IHostEnvironment env) => System.IO.Path.GetFullPath(database, env.ContentRootPath);

    public Db(IOptions<ForesightOptions> options, IHostEnvironment env)
    {
        Path = ResolvePath(options.Value.Database, env);
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            ForeignKeys = true,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
        // One of NORMAL, FULL and EXTRA in any case: ForesightOptionsValidation refuses anything else at start-up.
        var sync = options.Value.Synchronous.ToUpperInvariant();
        // SQLite's automatic checkpoint stays in these writers' commits (every 1,000 WAL pages). The answer writer, which
        // commits all the time, turns it off and checkpoints beside itself, restarting the WAL (AnswerWriter).
        WriterPragmas = $"PRAGMA busy_timeout = {BusyTimeoutMs}; PRAGMA synchronous = {sync};";
    }

    /// <summary>
    /// Creates the data folder (when missing) and the database file owner-only (0600) before SQLite first opens it, and
    /// makes an existing one 0600: SQLite creates its -wal and -shm files with the database file's mode, so they follow.
    /// </summary>
    public void CreateFiles()
    {
        OwnerOnly.CreateNewDirectory(System.IO.Path.GetDirectoryName(Path)!);
        OwnerOnly.CreateFile(Path);
        // Left by an earlier version (after a crash) with that version's mode.
        foreach (var suffix in new[] { "-wal", "-shm", "-journal" }) OwnerOnly.Tighten(Path + suffix);
    }

    static Db()
    {
        SqlMapper.AddTypeHandler(new DateTimeOffsetHandler());
        SqlMapper.AddTypeHandler(new StatusHandler<SurveyStatus>());
        SqlMapper.AddTypeHandler(new StatusHandler<RoundStatus>());
        SqlMapper.AddTypeHandler(new StatusHandler<TopicStatus>());
        SqlMapper.AddTypeHandler(new StatusHandler<ReportStatus>());
        SqlMapper.AddTypeHandler(new StatusHandler<MailStatus>());
        SqlMapper.AddTypeHandler(new StatusHandler<ImportStatus>());
        SqlMapper.AddTypeHandler(new StatusHandler<AnalysisStatus>());
        SqlMapper.AddTypeHandler(new StatusHandler<ProposalStatus>());
        DefaultTypeMap.MatchNamesWithUnderscores = true;
    }

    // One writer at a time, in the process: SQLite allows one writer anyway, and Microsoft.Data.Sqlite waits for a
    // busy database by sleeping, which under many concurrent writers turns into long stalls. Readers are not gated (WAL).
    readonly SemaphoreSlim _writeGate = new(1, 1);

    /// <summary>
    /// A write transaction (BEGIN IMMEDIATE) on its own connection, holding the process's write gate until disposed.
    /// Every write goes through here; plain reads use <see cref="OpenAsync"/>.
    /// </summary>
    public async Task<WriteScope> BeginWriteAsync(CancellationToken ct = default)
    {
        await _writeGate.WaitAsync(ct);
        try
        {
            var connection = await OpenAsync(ct);
            await using (var pragma = connection.CreateCommand())
            {
                pragma.CommandText = WriterPragmas;
                await pragma.ExecuteNonQueryAsync(ct);
            }
            return new WriteScope(connection, connection.BeginTransaction(deferred: false), _writeGate);
        }
        catch
        {
            _writeGate.Release();
            throw;
        }
    }

    /// <summary>Runs work that writes on a connection of its own (the answer writer's), holding the write gate.</summary>
    public async Task WithWriteGateAsync(Func<Task> work)
    {
        await _writeGate.WaitAsync();
        try { await work(); }
        finally { _writeGate.Release(); }
    }

    /// <summary>A connection for reading (under WAL, readers never wait for the writer).</summary>
    public async Task<SqliteConnection> OpenAsync(CancellationToken ct = default)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(ct);
        return connection;
    }

    /// <summary>Timestamps are stored as ISO 8601 UTC text, which sorts and compares correctly.</summary>
    public static string Iso(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>A stored timestamp (<see cref="Iso"/>) read back.</summary>
    public static DateTimeOffset FromIso(string iso) => DateTimeOffset.Parse(iso, System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>A typed status is stored as its name.</summary>
    sealed class StatusHandler<T> : SqlMapper.TypeHandler<T> where T : Status<T>
    {
        public override void SetValue(System.Data.IDbDataParameter parameter, T? value)
        {
            parameter.DbType = System.Data.DbType.String;
            parameter.Value = value?.Name ?? (object)DBNull.Value;
        }

        public override T Parse(object value) => Status<T>.Parse((string)value);
    }

    sealed class DateTimeOffsetHandler : SqlMapper.TypeHandler<DateTimeOffset>
    {
        public override void SetValue(IDbDataParameter parameter, DateTimeOffset value) => parameter.Value = Iso(value);
        public override DateTimeOffset Parse(object value) => FromIso((string)value);
    }
}

/// <summary>An open write transaction; disposing it rolls back what was not committed and releases the write gate.</summary>
public sealed class WriteScope(SqliteConnection connection, SqliteTransaction transaction, SemaphoreSlim gate) : IAsyncDisposable
{
    public SqliteConnection Connection { get; } = connection;
    public SqliteTransaction Transaction { get; } = transaction;

    public void Deconstruct(out SqliteConnection c, out SqliteTransaction tx) { c = Connection; tx = Transaction; }

    public Task CommitAsync() => Transaction.CommitAsync();

    public async ValueTask DisposeAsync()
    {
        try
        {
            await Transaction.DisposeAsync();
            await Connection.DisposeAsync();
        }
        finally
        {
            gate.Release();
        }
    }
}
