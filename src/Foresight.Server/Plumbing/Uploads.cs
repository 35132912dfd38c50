using System.Text;

namespace Foresight.Server.Plumbing;

/// <summary>Files sent to the server: a raw body, or the form field 'file' of a multipart/form-data body.</summary>
public static class Uploads
{
    /// <summary>An uploaded file: the form field 'file' of a multipart/form-data body, or the body itself.</summary>
    public static async Task<(Stream? Stream, string FileName, Refusal? Error)> OpenAsync(HttpRequest request, string defaultName)
    {
        string name = request.Query["file_name"].FirstOrDefault() is { Length: > 0 } q ? Path.GetFileName(q) : defaultName;
        if (!request.HasFormContentType) return (request.Body, name, null);
        IFormCollection form;
        try { form = await request.ReadFormAsync(); }
        // A broken form is the sender's fault (no boundary, a bad section header, cut short), not the server's.
        catch (Exception e) when (e is InvalidDataException || e is IOException and not BadHttpRequestException)
        {
            var why = e is InvalidDataException ? e.Message : "it ends before its closing boundary.";
            return (null, name,
                Refusal.BadRequest($"The upload is not a readable multipart/form-data body: {why} Send the file as the form field 'file', or as the body " +
                    "itself."));
        }
        var file = form.Files.GetFile("file") ?? form.Files.FirstOrDefault();
        if (file is null) return (null, name, Refusal.BadRequest("Upload the file as the form field 'file'."));
        return (file.OpenReadStream(), Path.GetFileName(file.FileName), null);
    }

    public static async Task<(string? Text, string FileName, Refusal? Error)> ReadTextAsync(HttpRequest request, string defaultName = "survey.yaml")
    {
        var (stream, name, problem) = await OpenAsync(request, defaultName);
        if (stream is null) return (null, name, problem);
        try
        {
            using var reader = new StreamReader(stream, new UTF8Encoding(false, throwOnInvalidBytes: true));
            var text = await reader.ReadToEndAsync();
            if (string.IsNullOrWhiteSpace(text)) return (null, name, Refusal.BadRequest($"{name} is empty."));
            return (text, name, null);
        }
        catch (DecoderFallbackException)
        {
            return (null, name, Refusal.BadRequest($"{name} is not UTF-8 text. Save it as UTF-8 and send it again."));
        }
    }
}
