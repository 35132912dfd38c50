using System.Security.Claims;
using Foresight.Core.Insights;
using Foresight.Server.Features.Surveys;
using Foresight.Server.Plumbing;

namespace Foresight.Server.Features.Insights;

/// <summary>
/// A survey's literature for the API and the console: a file checked and handed to <see cref="LiteratureImports"/>,
/// the imports with their progress, search and single records.
/// </summary>
public sealed class LiteratureService(Db db, LiteratureImports imports)
{
    /// <summary>The format a caller named (null: detect it from the file); checked before the upload is read.</summary>
    public static Outcome<ImportFormat?> DeclaredFormat(string? format)
    {
        if (string.IsNullOrEmpty(format)) return (ImportFormat?)null;
        return Literature.ParseFormat(format) is { } declared ? declared : Refusal.BadRequest($"format '{format}' is not one of scopus, wos, csv, jsonl.");
    }

    /// <summary>
    /// Reads an export and starts its import: refused whole when it is empty, not UTF-8 (or UTF-16), of no known format
    /// or without one readable record; written within the call for a small file, else in the background.
    /// </summary>
    public async Task<Outcome<LiteratureImports.Started>> ImportAsync(SurveyRef survey, Stream upload, string name, ImportFormat? declared,
        ClaimsPrincipal user)
    {
        // The importers read from a seekable copy: they detect UTF-16 and BOMs themselves.
        var copy = new MemoryStream();
        await upload.CopyToAsync(copy);
        copy.Position = 0;
        if (copy.Length == 0) return Refusal.BadRequest($"{name} is empty.");
        // Text that is not UTF-8 (and has no UTF-16 byte-order mark) would be stored with replacement characters: refuse it whole.
        var bytes = copy.GetBuffer().AsSpan(0, (int)copy.Length);
        bool utf16 = bytes is [0xFF, 0xFE, ..] or [0xFE, 0xFF, ..];
        if (!utf16 && BodyLimits.InvalidUtf8At(bytes) is { } at)
            return Refusal.BadRequest($"{name} is not UTF-8 text: line {bytes[..at].Count((byte)'\n') + 1} has a byte that starts no UTF-8 character. Save " +
                "the export as UTF-8 (or UTF-16) and import it again. Nothing was stored.");
        var result = LiteratureImport.Read(copy, declared);
        if (result.Format is null)
            return Refusal.BadRequest($"{name}: the first line is not the header of a Scopus CSV, a Web of Science tab-delimited export, a generic CSV " +
                "(title, abstract, keywords, year, ...) or JSONL. Say which with ?format=.",
                result.Errors.Select(e => (object)new RowError(e.Line, e.Message)));
        if (result.Records.Count == 0)
            return Refusal.BadRequest($"{name}: no record could be " +
                $"read{(result.Errors.Count > 0 ? $"; line {result.Errors[0].Line}: {result.Errors[0].Message}" : "")}. Nothing was stored.",
                result.Errors.Select(e => (object)new RowError(e.Line, e.Message)));
        // Written in short transactions (LiteratureImports): within this call for a small file, else in the background.
        return await imports.StartAsync(survey, name, result, user.UserId());
    }

    public async Task<List<LiteratureImportView>> ImportsAsync(SurveyRef survey)
    {
        await using var c = await db.OpenAsync();
        return await Literature.ImportsAsync(c, survey.Id);
    }

    public async Task<Outcome<LiteratureImportView>> ImportAsync(SurveyRef survey, long id)
    {
        await using var c = await db.OpenAsync();
        return (await Literature.ImportsAsync(c, survey.Id, null, id)).SingleOrDefault() is { } i ? i
            : Refusal.NotFound($"Survey '{survey.Slug}' has no import {id}.");
    }

    public async Task<Outcome<RecordPage>> SearchAsync(SurveyRef survey, RecordFilter filter, int? offset, int? limit)
    {
        if (filter.Validate().FirstOrDefault() is { } invalid) return Refusal.BadRequest(invalid);
        if (offset < 0 || limit is < 1 or > 500) return Refusal.BadRequest("offset must be 0 or more and limit between 1 and 500.");
        await using var c = await db.OpenAsync();
        var page = await Literature.SearchAsync(c, survey.Id, filter, offset ?? 0, limit ?? 50);
        return page is null ? Refusal.BadRequest($"The search '{filter.Query}' has no word to search for (only stop words or punctuation).") : page;
    }

    public async Task<Outcome<RecordView>> RecordAsync(SurveyRef survey, long id)
    {
        await using var c = await db.OpenAsync();
        return await Literature.RecordAsync(c, survey.Id, id) is { } r ? r : Refusal.NotFound($"Survey '{survey.Slug}' has no record {id}.");
    }
}
