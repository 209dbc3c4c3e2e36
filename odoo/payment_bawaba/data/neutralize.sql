-- disable the Bawaba provider's credentials in copied databases
UPDATE payment_provider
   SET bawaba_signing_secret = NULL;
