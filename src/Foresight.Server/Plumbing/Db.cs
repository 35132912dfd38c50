using System.Data;
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
    readonly string _pragmas;

    public string Path { get; }

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
        var sync = options.Value.Synchronous.ToUpperInvariant() is "FULL" or "EXTRA" ? options.Value.Synchronous.ToUpperInvariant() : "NORMAL";
        _pragmas = $"PRAGMA busy_timeout = 5000; PRAGMA synchronous = {sync};";
    }

    static Db()
    {
        SqlMapper.AddTypeHandler(new DateTimeOffsetHandler());
        DefaultTypeMap.MatchNamesWithUnderscores = true;
    }

    public async Task<SqliteConnection> OpenAsync(CancellationToken ct = default)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(ct);
        await using (var cmd = connection.CreateCommand())
        {
            cmd.CommandText = _pragmas;
            await cmd.ExecuteNonQueryAsync(ct);
        }
        return connection;
    }

    /// <summary>Timestamps are stored as ISO 8601 UTC text, which sorts and compares correctly.</summary>
    public static string Iso(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture);

    sealed class DateTimeOffsetHandler : SqlMapper.TypeHandler<DateTimeOffset>
    {
        public override void SetValue(IDbDataParameter parameter, DateTimeOffset value) => parameter.Value = Iso(value);
        public override DateTimeOffset Parse(object value) => DateTimeOffset.Parse((string)value, System.Globalization.CultureInfo.InvariantCulture);
    }
}
