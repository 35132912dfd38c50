using System.Collections;
using System.Collections.Concurrent;
using System.Reflection;
using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Foresight.Server.Plumbing;

/// <summary>
/// Every error answer is a ProblemDetails (RFC 9457) whose detail a person can act on; lists of
/// problems go in "errors". Request bodies are checked by <see cref="ValidationFilter{T}"/>.
/// </summary>
public static class Problems
{
    public static ProblemHttpResult BadRequest(string detail, IEnumerable<object>? errors = null) =>
        Make(StatusCodes.Status400BadRequest, "The request is not valid", detail, errors);

    public static ProblemHttpResult NotFound(string detail) => Make(StatusCodes.Status404NotFound, "Not found", detail);

    public static ProblemHttpResult Conflict(string detail) => Make(StatusCodes.Status409Conflict, "Not possible now", detail);

    public static ProblemHttpResult Forbidden(string detail) => Make(StatusCodes.Status403Forbidden, "Forbidden", detail);

    public static ProblemHttpResult Make(int status, string title, string detail, IEnumerable<object>? errors = null)
    {
        var extensions = new Dictionary<string, object?>();
        if (errors is not null) extensions["errors"] = errors.ToList();
        return TypedResults.Problem(detail: detail, statusCode: status, title: title, extensions: extensions);
    }

    /// <summary>
    /// Turns unreadable requests (malformed JSON, wrong types, an oversized body) into a 400 or 413 that says what
    /// and where, anything unexpected into a 500 without internals, and a bare error status into a ProblemDetails.
    /// </summary>
    public static void UseProblemResponses(this WebApplication app)
    {
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            StatusCodeSelector = e => e is BadHttpRequestException b ? b.StatusCode : StatusCodes.Status500InternalServerError,
            // A request the client got wrong is answered, not logged as a server error (a bad client would flood the log).
            SuppressDiagnosticsCallback = c => c.Exception is BadHttpRequestException,
            ExceptionHandler = async context =>
            {
                var error = context.Features.Get<IExceptionHandlerFeature>()?.Error;
                int status = error is BadHttpRequestException bad ? bad.StatusCode : StatusCodes.Status500InternalServerError;
                string detail = error switch
                {
                    BadHttpRequestException { InnerException: JsonException json } =>
                        $"The body is not the JSON this endpoint takes: {Describe(json)}",
                    BadHttpRequestException b when b.StatusCode == StatusCodes.Status413PayloadTooLarge =>
                        "The request body is too large for this endpoint.",
                    // The binder's words for an empty body or a JSON null ("Implicit body inferred for parameter ...").
                    BadHttpRequestException b when b.Message.StartsWith("Implicit body inferred", StringComparison.Ordinal)
                        || b.Message.StartsWith("Required parameter", StringComparison.Ordinal) => "The request needs a JSON body; it has none (or null).",
                    BadHttpRequestException b => WithoutTypeNames(b.Message),
                    _ => "Something went wrong on the server; nothing was changed by this request. The error has been logged.",
                };
                // A ProblemDetails whatever the Accept header asks for: the problem details service writes only what Accept
                // admits, and an error the handler cannot write turns into Kestrel's empty answer and a logged failure.
                await Make(status, status == 500 ? "Server error" : "The request could not be read", detail).ExecuteAsync(context);
            },
        });
        app.UseStatusCodePages(async c =>
        {
            var http = c.HttpContext;
            int status = http.Response.StatusCode;
            string detail = status switch
            {
                415 => UnsupportedMediaType(http),
                404 => $"There is nothing at {http.Request.Method} {http.Request.Path}.",
                405 => $"{http.Request.Path} does not take {http.Request.Method}.",
                _ => $"The request was refused ({status} {ReasonPhrases.GetReasonPhrase(status)}).",
            };
            // The title and type by status, as the problem details service gives them; JSON also where Accept leaves it out.
            await TypedResults.Problem(detail: detail, statusCode: status).ExecuteAsync(http);
        });
    }

    /// <summary>Routing answers 415 with an endpoint of its own, so the endpoint's accepted types are not at hand here.</summary>
    static string UnsupportedMediaType(HttpContext http)
    {
        var sent = http.Request.ContentType is { Length: > 0 } t ? $"'{t}'" : "missing";
        return $"This endpoint does not take a body of this type (the Content-Type is {sent}). JSON endpoints take application/json; "
            + "survey and rules files application/yaml, expert lists text/csv, literature exports text/csv, text/tab-separated-values, "
            + "text/plain or application/x-ndjson (all files also as the form field 'file' of multipart/form-data); /openapi/v1.json lists each endpoint's.";
    }

    /// <summary>Where the JSON went wrong and what was expected there, in the caller's terms rather than the server's types.</summary>
    static string Describe(JsonException e)
    {
        var where = (e.Path is { } path ? $"at {path}" : "in the body")
            + (e.LineNumber is { } line ? $" (line {line + 1}, byte {e.BytePositionInLine + 1})" : "");
        var converted = System.Text.RegularExpressions.Regex.Match(e.Message, @"^The JSON value could not be converted to (?<type>.+?)\. Path:");
        if (converted.Success)
        {
            var expected = converted.Groups["type"].Value switch
            {
                "System.String" => "text (a JSON string)",
                "System.Int32" or "System.Nullable`1[System.Int32]" => "a whole number (at most 2147483647)",
                "System.Int64" or "System.Nullable`1[System.Int64]" => "a whole number",
                "System.Double" or "System.Nullable`1[System.Double]" => "a number",
                "System.Boolean" or "System.Nullable`1[System.Boolean]" => "true or false",
                "System.DateTimeOffset" or "System.Nullable`1[System.DateTimeOffset]" => "a date and time such as 2030-06-30T18:00:00+08:00",
                var t when t.StartsWith("System.Collections.Generic.IReadOnlyList", StringComparison.Ordinal)
                    || t.StartsWith("System.Collections.Generic.List", StringComparison.Ordinal) || t.EndsWith("[]", StringComparison.Ordinal) => "a list",
                var t when t.StartsWith("System.Collections.Generic.Dictionary", StringComparison.Ordinal) => "an object of names and values",
                _ => null,
            };
            if (expected is null && e.Path == "$") return $"{where}: the body must be a JSON object with this endpoint's fields.";
            return expected is null ? $"{where}: this value has the wrong type for this field." : $"{where}: expected {expected}.";
        }
        // The reader's own words ("'x' is an invalid start of a value", "The maximum configured depth of 64 has been
        // exceeded"), without the position it appends in its own format.
        var message = System.Text.RegularExpressions.Regex.Replace(e.Message, @"\s*Path: .*$", "", System.Text.RegularExpressions.RegexOptions.Singleline);
        return $"{where}: {WithoutTypeNames(message).TrimEnd('.')}.";
    }

    static string WithoutTypeNames(string message) =>
        System.Text.RegularExpressions.Regex.Replace(message, @"\b(System|Foresight|Microsoft)\.[\w.`\[\],]+", "a value of another type");
}

/// <summary>A request body that can check itself; the filter answers 400 with every problem at once.</summary>
public interface IValidatable
{
    IEnumerable<string> Validate();
}

public sealed class ValidationFilter<T> : IEndpointFilter where T : class, IValidatable
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var body = context.Arguments.OfType<T>().FirstOrDefault();
        if (body is null)
            return Problems.BadRequest("The request needs a JSON body.");
        // Nulls first: Validate (and the endpoint) may rely on what the type declares non-nullable.
        var missing = RequiredMembers.Missing(body);
        var errors = missing.Count > 0 ? missing : body.Validate().ToList();
        if (errors.Count > 0)
            return Problems.BadRequest(errors.Count == 1 ? errors[0] : $"{errors.Count} problems: {errors[0]} ...", errors);
        return await next(context);
    }
}

public static class ValidationExtensions
{
    public static RouteHandlerBuilder Validate<T>(this RouteHandlerBuilder builder) where T : class, IValidatable =>
        builder.AddEndpointFilter<ValidationFilter<T>>().ProducesProblem(StatusCodes.Status400BadRequest);
}

/// <summary>
/// The JSON reader takes null (or leaves a member out) even where a request type declares a non-nullable member, list
/// element or map value. This finds those places by the type's nullability annotations, named as in the JSON.
/// </summary>
public static class RequiredMembers
{
    const int MaxProblems = 20;
    static readonly NullabilityInfoContext Context = new();
    static readonly ConcurrentDictionary<Type, (PropertyInfo Property, string Name, NullabilityInfo Info)[]> Properties = new();

    public static List<string> Missing(object body)
    {
        var problems = new List<string>();
        Visit(body, null, "", problems);
        return problems;
    }

    static void Visit(object value, NullabilityInfo? info, string path, List<string> problems)
    {
        if (problems.Count >= MaxProblems || value is string || value is JsonElement || value.GetType().IsPrimitive) return;
        if (value is IDictionary map)
        {
            var valueInfo = info?.GenericTypeArguments.ElementAtOrDefault(1);
            foreach (DictionaryEntry e in map)
                Check(e.Value, valueInfo, $"{path}.{e.Key}", "has no value", problems);
        }
        else if (value is IEnumerable list)
        {
            var elementInfo = info?.ElementType ?? info?.GenericTypeArguments.FirstOrDefault();
            int i = 0;
            foreach (var element in list) Check(element, elementInfo, $"{path}[{i++}]", "is null", problems);
        }
        else if (value.GetType().Namespace?.StartsWith("Foresight", StringComparison.Ordinal) == true)
            foreach (var (property, name, propertyInfo) in PropertiesOf(value.GetType()))
                Check(property.GetValue(value), propertyInfo, path.Length == 0 ? name : $"{path}.{name}", "is required", problems);
    }

    static void Check(object? value, NullabilityInfo? info, string path, string what, List<string> problems)
    {
        if (value is not null) Visit(value, info, path, problems);
        else if (info is { ReadState: NullabilityState.NotNull } && !info.Type.IsValueType && problems.Count < MaxProblems)
            problems.Add($"{path.TrimStart('.')} {what}");
    }

    static (PropertyInfo, string, NullabilityInfo)[] PropertiesOf(Type type) => Properties.GetOrAdd(type, t =>
    {
        lock (Context) // NullabilityInfoContext is not thread-safe
            return t.GetProperties(BindingFlags.Public | BindingFlags.Instance)
                .Where(p => p.GetIndexParameters().Length == 0 && p.GetMethod is not null && p.SetMethod is not null)
                .Select(p => (p, JsonNamingPolicy.SnakeCaseLower.ConvertName(p.Name), Context.Create(p))).ToArray();
    });
}
