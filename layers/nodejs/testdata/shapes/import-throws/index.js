throw new Error('the function failed at import');
