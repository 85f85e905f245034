-- AlterTable
ALTER TABLE "oauth_clients" ADD COLUMN     "id_token_signed_response_alg" TEXT;
