using Foresight.Core;
using System.Text;
using System.Text.Json;
using Dapper;
using Foresight.Core.Insights;
using Foresight.Server.Plumbing;
using Microsoft.Data.Sqlite;

namespace Foresight.Server.Features.Insights;

public sealed record RowError(int Line, string Message);

/// <param name="Status">importing (being written: its records are not seen yet), done, or failed (see Error; its records are removed)</param>
/// <param name="Total">records read from the file (rows without errors)</param>
/// <param name="Done">of those, how many have been handled so far (added or found to be duplicates)</param>
public sealed record LiteratureImportView(long Id, string FileName, string Format, int Added, int Duplicates, IReadOnlyList<RowError> Errors,
    string CreatedAt, string? CreatedBy, long RecordsInSurvey, ImportStatus Status, int Total, int Done, string? Error, string? FinishedAt);

public sealed record RecordView(long Id, string SourceType, string Title, string Abstract, IReadOnlyList<string> Keywords, int? Year,
    IReadOnlyList<string> Countries, string? Language, string? Doi, string? Source, string? Authors, string? ExternalId);

public sealed record RecordPage(long Total, int Offset, IReadOnlyList<RecordView> Records);

/// <summary>Which records: a full-text query (both languages, as the analysis tokenizes), years and source types.</summary>
public sealed record RecordFilter(string? Query, int? YearFrom, int? YearTo, IReadOnlyList<string>? SourceTypes)
{
    public static readonly string[] Types = ["paper", "patent", "project", "news"];

    public IEnumerable<string> Validate()
    {
        if (Query is { Length: > 500 }) yield return "query is longer than 500 characters";
        if (YearFrom is < 1800 or > 2200 || YearTo is < 1800 or > 2200) yield return "years must be between 1800 and 2200";
        if (YearFrom > YearTo) yield return "year_from is after year_to";
        foreach (var t in SourceTypes ?? [])
            if (!Types.Contains(t)) yield return $"source type '{t}' is not one of {string.Join(", ", Types)}";
    }
}

/// <summary>
/// The survey's literature: records imported from Scopus, Web of Science or generic exports, deduplicated (DOI, else
/// normalised title and year) against the file and against what is stored, and indexed for full-text search with the
/// analysis tokenizer's terms, so that a Chinese query finds Chinese records and "batteries" finds "battery".
/// </summary>
public static class Literature
{
    public sealed class RecordRow
    {
        public long Id { get; init; }
        public string SourceType { get; init; } = "";
        public string Title { get; init; } = "";
        public string Abstract { get; init; } = "";
        public string Keywords { get; init; } = "";
        public long? Year { get; init; }
        public string Countries { get; init; } = "";
        public string? Language { get; init; }
        public string? Doi { get; init; }
        public string? Source { get; init; }
        public string? Authors { get; init; }
        public string? ExternalId { get; init; }

        static List<string> Split(string s) => s.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();

        public RecordView View => new(Id, SourceType, Title, Abstract, Split(Keywords), (int?)Year, Split(Countries), Language, Doi, Source, Authors,
            ExternalId);

        public LiteratureRecord Record => new()
        {
            SourceType = Enum.Parse<SourceType>(SourceType, ignoreCase: true),
            Title = Title, Abstract = Abstract, Keywords = Split(Keywords), Year = (int?)Year, Countries = Split(Countries),
            Language = Language, Doi = Doi, Source = Source, Authors = Authors, Id = Id.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
    }

    /// <summary>The search terms of a text: the analysis tokenizer's terms, space-separated (what the FTS index holds).</summary>
    public static string Terms(string text)
    {
        var tokens = new Tokenizer().Tokenize(text);
        var sb = new StringBuilder();
        foreach (var t in tokens) sb.Append(t.Term).Append(' ');
        return sb.ToString();
    }

    /// <summary>An FTS5 query that needs every term of the text (each quoted), or null when the text has no searchable term.</summary>
    public static string? Match(string query)
    {
        var terms = new Tokenizer().Tokenize(query).Select(t => t.Term).Distinct().ToList();
        return terms.Count == 0 ? null : string.Join(' ', terms.Select(t => "\"" + t.Replace("\"", "\"\"") + "\""));
    }

    /// <summary>
    /// Records of imports that are done, for queries on literature_records r with @surveyId: an import still being
    /// written, or one that failed (its records are being removed), is not part of the survey's literature.
    /// </summary>
    internal const string Visible = "r.import_id IN (SELECT id FROM literature_imports WHERE survey_id = @surveyId AND status = 'done')";

    /// <summary>Starts an import: its row, with what the file held, in the state importing and nothing done yet.</summary>
    public static Task<long> BeginAsync(SqliteConnection c, SqliteTransaction tx, long surveyId, string fileName, ImportResult file, long? userId,
        DateTimeOffset now) =>
        c.ExecuteScalarAsync<long>("""
            INSERT INTO literature_imports (survey_id, file_name, format, added, duplicates, errors, created_at, created_by, status, total, done)
            VALUES (@surveyId, @fileName, @format, 0, 0, @errors, @now, @userId, 'importing', @total, 0) RETURNING id
            """, new
            {
                surveyId, fileName, format = FormatName(file.Format), errors = JsonSerializer.Serialize(file.Errors.Select(e =>
                    new RowError(e.Line, e.Message)), Json.Stored),
                now = Db.Iso(now), userId, total = file.Records.Count,
            }, tx);

    /// <summary>
    /// Writes records of one import within one transaction, with its statements prepared once. A record whose key the
    /// survey has already (from an earlier import, or an earlier batch of this one) is not stored again.
    /// </summary>
    public sealed class RecordWriter : IDisposable
    {
        readonly SqliteCommand _insert, _search;

        public RecordWriter(SqliteConnection c, SqliteTransaction tx, long surveyId, long importId)
        {
            _insert = c.CreateCommand();
            _insert.Transaction = tx;
            _insert.CommandText = """
                INSERT INTO literature_records (survey_id, import_id, dedup_key, source_type, title, abstract, keywords, year, countries, language, doi, source,
                    authors, external_id)
                VALUES ($survey, $import, $key, $type, $title, $abstract, $keywords, $year, $countries, $language, $doi, $source, $authors, $external)
                ON CONFLICT (survey_id, dedup_key) DO NOTHING RETURNING id
                """;
            foreach (var name in new[] { "$key", "$type", "$title", "$abstract", "$keywords", "$year", "$countries", "$language", "$doi", "$source", "$authors",
                "$external" })
                _insert.Parameters.Add(new SqliteParameter(name, null));
            _insert.Parameters.AddWithValue("$survey", surveyId);
            _insert.Parameters.AddWithValue("$import", importId);
            _insert.Prepare();
            _search = c.CreateCommand();
            _search.Transaction = tx;
            _search.CommandText = "INSERT INTO literature_search (rowid, terms) VALUES ($id, $terms)";
            _search.Parameters.Add(new SqliteParameter("$id", null));
            _search.Parameters.Add(new SqliteParameter("$terms", null));
            _search.Prepare();
        }

        /// <returns>whether the record was stored (false: the survey has a record with its key)</returns>
        public bool Add(LiteratureRecord r, string key, string terms)
        {
            var p = _insert.Parameters;
            p["$key"].Value = key;
            p["$type"].Value = r.SourceType.ToString().ToLowerInvariant();
            p["$title"].Value = r.Title;
            p["$abstract"].Value = r.Abstract;
            p["$keywords"].Value = string.Join("; ", r.Keywords);
            p["$year"].Value = (object?)r.Year ?? DBNull.Value;
            p["$countries"].Value = string.Join(";", r.Countries);
            p["$language"].Value = (object?)r.Language ?? DBNull.Value;
            p["$doi"].Value = (object?)r.Doi ?? DBNull.Value;
            p["$source"].Value = (object?)r.Source ?? DBNull.Value;
            p["$authors"].Value = (object?)r.Authors ?? DBNull.Value;
            p["$external"].Value = (object?)(r.Eid ?? r.WosUt ?? r.PatentNumber ?? r.Id) ?? DBNull.Value;
            if (_insert.ExecuteScalar() is not long id) return false;
            _search.Parameters["$id"].Value = id;
            _search.Parameters["$terms"].Value = terms;
            _search.ExecuteNonQuery();
            return true;
        }

        public void Dispose()
        {
            _insert.Dispose();
            _search.Dispose();
        }
    }

    public static string FormatName(ImportFormat? format) => format switch
    {
        ImportFormat.Scopus => "scopus",
        ImportFormat.WebOfScience => "wos",
        ImportFormat.GenericCsv => "csv",
        ImportFormat.Jsonl => "jsonl",
        _ => "unknown",
    };

    public static ImportFormat? ParseFormat(string? name) => name?.ToLowerInvariant() switch
    {
        "scopus" => ImportFormat.Scopus,
        "wos" or "webofscience" => ImportFormat.WebOfScience,
        "csv" => ImportFormat.GenericCsv,
        "jsonl" => ImportFormat.Jsonl,
        _ => null,
    };

    public static async Task<List<LiteratureImportView>> ImportsAsync(SqliteConnection c, long surveyId, SqliteTransaction? tx = null, long? only = null)
    {
        var total = await c.ExecuteScalarAsync<long>($"SELECT COUNT(*) FROM literature_records r WHERE r.survey_id = @surveyId AND {Visible}", new { surveyId },
            tx);
        var rows = await c.QueryAsync<(long Id, string FileName, string Format, long Added, long Duplicates, string Errors, string CreatedAt, string? By,
            string Status, long Total, long Done, string? Error, string? FinishedAt)>("""
            SELECT i.id, i.file_name, i.format, i.added, i.duplicates, i.errors, i.created_at, u.name, i.status, i.total, i.done, i.error, i.finished_at
            FROM literature_imports i LEFT JOIN users u ON u.id = i.created_by
            WHERE i.survey_id = @surveyId AND (@only IS NULL OR i.id = @only) ORDER BY i.id DESC
            """, new { surveyId, only }, tx);
        return rows.Select(r => new LiteratureImportView(r.Id, r.FileName, r.Format, (int)r.Added, (int)r.Duplicates,
            JsonSerializer.Deserialize<List<RowError>>(r.Errors, Json.Stored)!, r.CreatedAt, r.By, total, ImportStatus.Parse(r.Status), (int)r.Total,
            (int)r.Done, r.Error, r.FinishedAt)).ToList();
    }

    /// <summary>The WHERE clause and parameters of a filter; null match when the query has no searchable term.</summary>
    static (string Sql, DynamicParameters Args) Where(long surveyId, RecordFilter filter, string? match)
    {
        var args = new DynamicParameters(new { surveyId, from = filter.YearFrom, to = filter.YearTo });
        var sql = new StringBuilder($"r.survey_id = @surveyId AND {Visible} AND (@from IS NULL OR r.year >= @from) AND (@to IS NULL OR r.year <= @to)");
        if (filter.SourceTypes is { Count: > 0 } types) { sql.Append(" AND r.source_type IN @types"); args.Add("types", types); }
        if (match is not null) { sql.Append(" AND r.id IN (SELECT rowid FROM literature_search WHERE literature_search MATCH @match)"); args.Add("match",
            match); }
        return (sql.ToString(), args);
    }

    /// <returns>null when the filter has a query with no searchable term</returns>
    public static async Task<RecordPage?> SearchAsync(SqliteConnection c, long surveyId, RecordFilter filter, int offset, int limit)
    {
        string? match = null;
        if (!string.IsNullOrWhiteSpace(filter.Query) && (match = Match(filter.Query)) is null) return null;
        var (where, args) = Where(surveyId, filter, match);
        var total = await c.ExecuteScalarAsync<long>($"SELECT COUNT(*) FROM literature_records r WHERE {where}", args);
        args.Add("offset", offset);
        args.Add("limit", limit);
        // With a query, the best matches first (BM25, through the index's own rank); without, newest first.
        var sql = match is null
            ? $"SELECT r.* FROM literature_records r WHERE {where} ORDER BY r.year DESC, r.id LIMIT @limit OFFSET @offset"
            : $"""
                SELECT r.* FROM literature_search s JOIN literature_records r ON r.id = s.rowid
                WHERE literature_search MATCH @match AND {where} ORDER BY s.rank, r.id LIMIT @limit OFFSET @offset
                """;
        var rows = await c.QueryAsync<RecordRow>(sql, args);
        return new RecordPage(total, offset, rows.Select(r => r.View).ToList());
    }

    /// <summary>Every record the filter selects, in id order (the analysis's input: the same filter gives the same list).</summary>
    public static async Task<List<RecordRow>?> SelectAsync(SqliteConnection c, long surveyId, RecordFilter filter)
    {
        string? match = null;
        if (!string.IsNullOrWhiteSpace(filter.Query) && (match = Match(filter.Query)) is null) return null;
        var (where, args) = Where(surveyId, filter, match);
        return (await c.QueryAsync<RecordRow>($"SELECT r.* FROM literature_records r WHERE {where} ORDER BY r.id", args)).ToList();
    }

    public static async Task<long> CountAsync(SqliteConnection c, long surveyId, RecordFilter filter)
    {
        string? match = string.IsNullOrWhiteSpace(filter.Query) ? null : Match(filter.Query);
        if (!string.IsNullOrWhiteSpace(filter.Query) && match is null) return 0;
        var (where, args) = Where(surveyId, filter, match);
        return await c.ExecuteScalarAsync<long>($"SELECT COUNT(*) FROM literature_records r WHERE {where}", args);
    }

    public static async Task<RecordView?> RecordAsync(SqliteConnection c, long surveyId, long id) =>
        (await c.QuerySingleOrDefaultAsync<RecordRow>($"SELECT r.* FROM literature_records r WHERE r.survey_id = @surveyId AND r.id = @id AND {Visible}",
        new { surveyId, id }))?.View;

    /// <summary>Removes a survey's records from the search index (the index has no foreign key to cascade).</summary>
    public static Task ForgetAsync(SqliteConnection c, SqliteTransaction tx, long surveyId) =>
        c.ExecuteAsync("DELETE FROM literature_search WHERE rowid IN (SELECT id FROM literature_records WHERE survey_id = @surveyId)", new { surveyId }, tx);
}

/// <summary>The literature search index is not a table that cascades from the survey: it is emptied with the survey.</summary>
public sealed class LiteratureSearch : Surveys.ISurveyData
{
    public Task DeleteAsync(SqliteConnection c, SqliteTransaction tx, long surveyId) => Literature.ForgetAsync(c, tx, surveyId);
}
